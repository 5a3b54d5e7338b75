package cdp.mongo;

import de.bwaldvogel.mongo.bson.Document;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.CRC32;
import org.h2.mvstore.WriteBuffer;

/**
 * The write-ahead journal: each document a write left behind (or its removal), appended in the
 * order the writes applied, so the store itself need only be committed now and then
 * ({@link CdpBackend}'s checkpoints). Committing the store before each acknowledgement rewrote
 * every index page the write touched; at a checkpoint, a page touched by many writes is written
 * once.
 *
 * <p>Durability is what the per-write commit gave: a write is acknowledged once its records are
 * written to the file (not fsynced), so a crash of this process loses nothing acknowledged, and a
 * power loss may.
 *
 * <p>A record: {@code [int length][int crc32][long seq][db][collection][_id][document or none]},
 * the values in {@link StoredValueType}'s form. Records are numbered; a checkpoint stores the last
 * number it covers, and a restart applies the records after it ({@link #readAfter}). A record cut
 * short by the crash (length or checksum wrong) ends the journal.
 */
final class Journal {
    /** One document as a write left it: {@code document} null when the write removed it. */
    record Change(long seq, String database, String collection, Object id, Document document) {
    }

    private static final StoredValueType VALUES = new StoredValueType();

    /** The journal writes go to; none while a restart replays one, or for an in-memory store. */
    static volatile Journal active;

    /** The number of the last change this thread recorded, for the acknowledgement to wait on. */
    private static final ThreadLocal<long[]> LAST_RECORDED = ThreadLocal.withInitial(() -> new long[1]);

    /** Records a change in the active journal, if there is one ({@link IndexedCollection}). */
    static void recordChange(String database, String collection, Object id, Document document) {
        Journal journal = active;
        if (journal != null) {
            LAST_RECORDED.get()[0] = journal.record(database, collection, id, document);
        }
    }

    /** The number of the last change this thread recorded since the last call, or 0. */
    static long takeLastRecorded() {
        long[] last = LAST_RECORDED.get();
        long seq = last[0];
        last[0] = 0;
        return seq;
    }

    private final FileChannel file;
    private final WriteBuffer pending = new WriteBuffer(1 << 20);
    private long lastSeq;
    private long durableSeq;
    private long bytesSinceCheckpoint;

    Journal(Path path, long lastSeq) {
        try {
            this.file = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.READ);
            file.position(file.size());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        this.lastSeq = lastSeq;
        this.durableSeq = lastSeq;
    }

    /**
     * Adds a change to the records not yet written, in the order of the calls (they come while
     * the collection's lock is held, so a document's changes come in the order they applied).
     * Returns its number.
     */
    synchronized long record(String database, String collection, Object id, Document document) {
        WriteBuffer payload = new WriteBuffer(256);
        long seq = ++lastSeq;
        payload.putLong(seq);
        putText(payload, database);
        putText(payload, collection);
        VALUES.write(payload, id);
        payload.put((byte) (document == null ? 0 : 1));
        if (document != null) {
            VALUES.write(payload, document);
        }
        ByteBuffer bytes = payload.getBuffer().flip();
        CRC32 crc = new CRC32();
        crc.update(bytes.duplicate());
        pending.putInt(bytes.remaining()).putInt((int) crc.getValue()).put(bytes);
        return seq;
    }

    /** Returns once every record up to {@code seq} is in the file (or covered by a checkpoint). */
    synchronized void flushThrough(long seq) {
        if (seq <= durableSeq) {
            return;
        }
        ByteBuffer bytes = pending.getBuffer().flip();
        bytesSinceCheckpoint += bytes.remaining();
        try {
            while (bytes.hasRemaining()) {
                file.write(bytes);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("the journal could not be written", e);
        }
        pending.clear();
        durableSeq = lastSeq;
    }

    synchronized long lastSeq() {
        return lastSeq;
    }

    synchronized long bytesSinceCheckpoint() {
        return bytesSinceCheckpoint + pending.position();
    }

    /**
     * After a checkpoint that covers every record so far: empties the file (the store holds
     * their effect).
     */
    synchronized void checkpointed() {
        pending.clear();
        durableSeq = lastSeq;
        bytesSinceCheckpoint = 0;
        try {
            file.truncate(0);
            file.position(0);
        } catch (IOException e) {
            throw new UncheckedIOException("the journal could not be emptied", e);
        }
    }

    void close() throws IOException {
        file.close();
    }

    /** The records numbered after {@code checkpoint}, up to the first one cut short. */
    static List<Change> readAfter(Path path, long checkpoint) throws IOException {
        List<Change> changes = new ArrayList<>();
        if (!Files.exists(path)) {
            return changes;
        }
        ByteBuffer all = ByteBuffer.wrap(Files.readAllBytes(path));
        while (all.remaining() >= 8) {
            int length = all.getInt();
            int crc = all.getInt();
            if (length <= 0 || length > all.remaining()) {
                break; // cut short by the crash
            }
            ByteBuffer payload = all.slice(all.position(), length);
            all.position(all.position() + length);
            CRC32 check = new CRC32();
            check.update(payload.duplicate());
            if ((int) check.getValue() != crc) {
                break;
            }
            long seq = payload.getLong();
            String database = getText(payload);
            String collection = getText(payload);
            Object id = VALUES.read(payload);
            Document document = payload.get() == 0 ? null : (Document) VALUES.read(payload);
            if (seq > checkpoint) {
                changes.add(new Change(seq, database, collection, id, document));
            }
        }
        return changes;
    }

    private static void putText(WriteBuffer buffer, String text) {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        buffer.putVarInt(bytes.length).put(bytes);
    }

    private static String getText(ByteBuffer buffer) {
        int length = org.h2.mvstore.DataUtils.readVarInt(buffer);
        byte[] bytes = new byte[length];
        buffer.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
