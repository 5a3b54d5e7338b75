package cdp.mongo;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The H2 backend with the database of {@link CdpDatabase}, the command context its collections
 * read ({@link QueryContext}), the scan record's command, and writes made durable by a
 * {@link Journal} with checkpoints of the store.
 *
 * <p>A write is acknowledged once the documents it left are in the journal file. Writes that
 * finish together share one write of the file: each waits for the first that covers it. Now and
 * then (64 MB of journal, an eighth of the heap in changed pages, or ten seconds after the last
 * one) a checkpoint commits the store, which writes each changed page once, however many writes
 * changed it, and empties the journal. A checkpoint waits until no document write is under way,
 * so the store it commits holds every journaled change and no half of one; reads go on.
 *
 * <p>Commands that change more than documents (indexes, collections, databases) are not
 * journaled: each runs alone and is checkpointed before it is acknowledged.
 *
 * <p>After a crash the store is as the last checkpoint left it, and {@link #recover} puts back
 * the documents as the journal records after that checkpoint left them. An in-memory store
 * keeps no journal and commits nothing.
 */
final class CdpBackend extends H2Backend {
    /** Change documents only: journaled, and they may run side by side. */
    private static final Set<String> DOCUMENT_WRITES = Set.of(
        "insert", "update", "delete", "findandmodify", "aggregate");
    /** Change what holds the documents: run alone, checkpointed before the answer. */
    private static final Set<String> STRUCTURE_WRITES = Set.of(
        "createindexes", "dropindexes", "drop", "dropdatabase", "create", "renamecollection");

    private static final String CHECKPOINTS = "cdp.journal";
    private static final String LAST_CHECKPOINTED = "checkpoint";
    // Settings for tests (system properties): 64 MB of journal, ten seconds.
    private static final long CHECKPOINT_JOURNAL_BYTES = Long.getLong("cdp.checkpointBytes", 64L << 20);
    private static final long CHECKPOINT_AFTER_NANOS =
        TimeUnit.SECONDS.toNanos(Long.getLong("cdp.checkpointSeconds", 10));

    private final Path journalPath;
    private final long checkpointUnsavedBytes;
    private final ReentrantReadWriteLock writes = new ReentrantReadWriteLock();
    private final AtomicBoolean checkpointing = new AtomicBoolean();
    private Journal journal;
    private volatile long lastCheckpoint = System.nanoTime();

    /** {@code journalPath} null: an in-memory store. */
    CdpBackend(MVStore store, boolean planning, Path journalPath) {
        super(store);
        CdpDatabase.planning = planning;
        this.journalPath = journalPath;
        this.checkpointUnsavedBytes = Runtime.getRuntime().maxMemory() / 8;
    }

    @Override
    protected MongoDatabase openOrCreateDatabase(String databaseName) {
        return CdpDatabase.open(databaseName, getMvStore(), getCursorRegistry());
    }

    @Override
    public Document handleCommand(Channel channel, String database, String command, Document query) {
        if (command.equalsIgnoreCase("cdpScans")) {
            return ScanRecord.report(Utils.isTrue(query.get("reset")));
        }
        String name = command.toLowerCase(Locale.ROOT);
        if (journal == null || !(DOCUMENT_WRITES.contains(name) || STRUCTURE_WRITES.contains(name))) {
            return run(channel, database, command, query);
        }
        if (STRUCTURE_WRITES.contains(name)) {
            writes.writeLock().lock();
            try {
                Document response = run(channel, database, command, query);
                checkpointLocked();
                return response;
            } finally {
                Journal.takeLastRecorded();
                writes.writeLock().unlock();
            }
        }
        Document response;
        long recorded;
        writes.readLock().lock();
        try {
            response = run(channel, database, command, query);
        } finally {
            recorded = Journal.takeLastRecorded();
            writes.readLock().unlock();
        }
        if (recorded > 0) {
            journal.flushThrough(recorded);
            checkpointIfDue();
        }
        return response;
    }

    private Document run(Channel channel, String database, String command, Document query) {
        QueryContext.enter(command, query);
        try {
            return super.handleCommand(channel, database, command, query);
        } finally {
            QueryContext.exit();
        }
    }

    private void checkpointIfDue() {
        long journaled = journal.bytesSinceCheckpoint();
        boolean due = journaled > CHECKPOINT_JOURNAL_BYTES
            || getMvStore().getUnsavedMemory() > checkpointUnsavedBytes
            || (journaled > 0 && System.nanoTime() - lastCheckpoint > CHECKPOINT_AFTER_NANOS);
        if (!due || !checkpointing.compareAndSet(false, true)) {
            return;
        }
        try {
            writes.writeLock().lock();
            try {
                checkpointLocked();
            } finally {
                writes.writeLock().unlock();
            }
        } finally {
            checkpointing.set(false);
        }
    }

    /** Commits the store with the number of the last journaled change, then empties the journal. */
    private void checkpointLocked() {
        MVMap<String, Long> checkpoints = getMvStore().openMap(CHECKPOINTS);
        checkpoints.put(LAST_CHECKPOINTED, journal.lastSeq());
        getMvStore().commit();
        journal.checkpointed();
        lastCheckpoint = System.nanoTime();
    }

    /**
     * Opens the journal, first putting back what the records after the last checkpoint changed:
     * per document, the state the last record left (all removals, then all additions). Returns
     * how many documents it put back. Call before the server listens.
     */
    int recover() {
        if (journalPath == null) {
            return 0;
        }
        MVMap<String, Long> checkpoints = getMvStore().openMap(CHECKPOINTS);
        long checkpoint = checkpoints.getOrDefault(LAST_CHECKPOINTED, 0L);
        List<Journal.Change> changes;
        try {
            changes = Journal.readAfter(journalPath, checkpoint);
        } catch (IOException e) {
            throw new UncheckedIOException("the journal could not be read", e);
        }
        Map<List<Object>, Journal.Change> last = new LinkedHashMap<>();
        long lastSeq = checkpoint;
        for (Journal.Change change : changes) {
            last.put(List.of(change.database(), change.collection(), change.id()), change);
            lastSeq = Math.max(lastSeq, change.seq());
        }
        for (Journal.Change change : last.values()) {
            IndexedCollection collection = collection(change, change.document() != null);
            if (collection != null) {
                collection.removeForReplay(change.id());
            }
        }
        for (Journal.Change change : last.values()) {
            if (change.document() != null) {
                collection(change, true).addForReplay(change.document());
            }
        }
        journal = new Journal(journalPath, lastSeq);
        Journal.active = journal;
        writes.writeLock().lock();
        try {
            checkpointLocked();
        } finally {
            writes.writeLock().unlock();
        }
        return last.size();
    }

    private IndexedCollection collection(Journal.Change change, boolean create) {
        MongoDatabase database = resolveDatabase(change.database());
        MongoCollection<?> collection = database.resolveCollection(change.collection(), false);
        if (collection == null && create) {
            collection = database.createCollectionOrThrowIfExists(change.collection());
        }
        return (IndexedCollection) collection;
    }

    /** A clean stop: a last checkpoint, so a restart has nothing to replay. */
    @Override
    public void close() {
        if (journal != null) {
            writes.writeLock().lock();
            try {
                checkpointLocked();
                Journal.active = null;
                journal.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            } finally {
                writes.writeLock().unlock();
            }
        }
        super.close();
    }
}
