package cdp.mongo;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.h2.mvstore.MVStore;

/**
 * The H2 backend with the database of {@link CdpDatabase}, the command context its collections
 * read ({@link QueryContext}), the scan record's command, and a commit before a write is
 * acknowledged.
 *
 * <p>Group commit: the server's I/O threads serve several connections at once. A write that
 * finished while another thread's commit was under way is covered by the next commit, and
 * writes that finished together share it: each waits for the first commit that starts after it
 * finished, and no more.
 */
final class CdpBackend extends H2Backend {
    private static final Set<String> WRITE_COMMANDS = Set.of(
        "insert", "update", "delete", "findandmodify", "createindexes", "dropindexes", "drop",
        "dropdatabase", "create", "renamecollection");

    private final AtomicLong writesApplied = new AtomicLong();
    private final Object commitLock = new Object();
    private long writesCommitted;

    CdpBackend(MVStore store, boolean planning) {
        super(store);
        CdpDatabase.planning = planning;
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
        Document response;
        QueryContext.enter(command, query);
        try {
            response = super.handleCommand(channel, database, command, query);
        } finally {
            QueryContext.exit();
        }
        if (WRITE_COMMANDS.contains(command.toLowerCase(Locale.ROOT))) {
            commitCovering(writesApplied.incrementAndGet());
        }
        return response;
    }

    /** Returns once a commit that started after write number {@code write} finished. */
    private void commitCovering(long write) {
        synchronized (commitLock) {
            if (writesCommitted >= write) {
                return; // another thread's commit covered it while this one waited
            }
            long upTo = writesApplied.get();
            commit();
            writesCommitted = upTo;
        }
    }
}
