package cdp.mongo;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.h2.mvstore.MVStore;

/**
 * The MongoDB-wire server of dev and CI: mongo-java-server's H2 backend (an MVStore file, so data
 * survives restarts) with what our services depend on mended or added.
 *
 * <ol>
 *   <li>It reports MongoDB 4.4 / wire version 9: PyMongo 4.20 refuses servers below wire 9, and
 *       the library's newest built-in version (5.0) reports wire 8.
 *   <li>A write is acknowledged once it is in a journal file, and the store is committed at
 *       checkpoints ({@link CdpBackend}, {@link Journal}); a restart puts back what the journal
 *       holds after the last checkpoint. MVStore alone auto-commits about once a second, so a
 *       kill -9 would lose acknowledged writes; committing it before every acknowledgement
 *       rewrote each index page a write touched. (The journal is written, not fsynced: a crash of
 *       this process loses nothing acknowledged; a power loss may.)
 *   <li>Non-unique indexes exist ({@link SecondaryIndex}, kept in the store beside the data); the
 *       library accepted and ignored them, so every query off a unique index scanned.
 *   <li>Queries use every index ({@link QueryPlanner}): unique ones fixed by equality, secondary
 *       ones by equality and {@code $in} on a key prefix, a range or an anchored prefix regex on
 *       the next key, {@code $or} branch by branch, {@code _id} ranges, the index order for a
 *       sort with a limit, and an aggregate's leading {@code $match} (count_documents).
 *   <li>The queries no index served are recorded ({@link ScanRecord}, command {@code cdpScans}).
 * </ol>
 *
 * <p>Usage: {@code Launcher --port N [--host 127.0.0.1] [--data-dir DIR | --in-memory]
 * [--no-narrowing]}; {@code --no-narrowing} leaves queries to the library's own path (for an A/B
 * benchmark). Prints {@code READY <port>} once it listens.
 */
public final class Launcher {

    /** MongoDB 4.4, wire version 9: the oldest server PyMongo 4.20 talks to. */
    static final MongoVersion MONGO_4_4 = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(4, 4, 0);
        }

        @Override
        public int getWireVersion() {
            return 9;
        }
    };

    private Launcher() {
    }

    public static void main(String[] args) throws Exception {
        String host = "127.0.0.1";
        Integer port = null;
        Path dataDir = null;
        boolean inMemory = false;
        boolean narrowing = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--host" -> host = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--data-dir" -> dataDir = Path.of(args[++i]);
                case "--in-memory" -> inMemory = true;
                case "--no-narrowing" -> narrowing = false;
                default -> fail("unknown argument " + args[i]);
            }
        }
        if (port == null || (dataDir == null) == !inMemory) {
            fail("usage: Launcher --port N [--host H] (--data-dir DIR | --in-memory) [--no-narrowing]");
        }
        MVStore store;
        if (inMemory) {
            store = new MVStore.Builder().open();
        } else {
            Files.createDirectories(dataDir);
            // We commit after every write ourselves. MVStore's background writer (auto-commit and
            // chunk compaction) raced a long scan on a busy 100k-document store here ("Chunk
            // 755 not found"): keep it off. The file then grows until the store is compacted on
            // a clean shutdown.
            // MVStore's page cache defaults to 16 MB: at a million documents every lookup would
            // read and decode its pages again. A quarter of the heap keeps the hot pages decoded.
            long heap = Runtime.getRuntime().maxMemory();
            int cacheMb = (int) Math.max(16, heap / 4 / (1024 * 1024));
            // MVStore also writes the changed pages by itself whenever they estimate to more than
            // autoCommitBufferSize, in the middle of a write. Checkpoints come at an eighth of the
            // heap in changed pages ({@link CdpBackend}); this is only the backstop.
            int unsavedKb = (int) Math.max(19 * 1024, heap / 3 / 1024);
            store = new MVStore.Builder()
                .fileName(dataDir.resolve("db.mv").toString())
                .autoCommitDisabled()
                .autoCommitBufferSize(unsavedKb)
                .cacheSize(cacheMb)
                .open();
        }
        CdpBackend backend = new CdpBackend(store, narrowing,
            inMemory ? null : dataDir.resolve("journal.bin"));
        backend.version(MONGO_4_4);
        int replayed = backend.recover();
        if (replayed > 0) {
            System.out.println("replayed " + replayed + " documents from the journal");
        }
        MongoServer server = new MongoServer(backend);
        try {
            server.bind(host, port);
        } catch (Exception e) {
            // netty rethrows the BindException unchecked, and its threads would keep the JVM
            // alive: exit, so whoever started us sees the failure at once.
            e.printStackTrace();
            store.close();
            System.exit(1);
        }
        // SIGTERM: stop listening, then close the backend, which commits and closes the store.
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdown, "shutdown"));
        System.out.println("READY " + port + (narrowing ? "" : " (narrowing off)"));
        System.out.flush();
        Thread.currentThread().join();
    }

    private static void fail(String message) {
        System.err.println(message);
        System.exit(2);
    }
}
