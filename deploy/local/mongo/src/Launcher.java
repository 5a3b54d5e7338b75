package cdp.mongo;

import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import io.netty.channel.Channel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The MongoDB-wire server of dev and CI: mongo-java-server's H2 backend (an MVStore file, so data
 * survives restarts) with three things mended that our services depend on.
 *
 * <ol>
 *   <li>It reports MongoDB 4.4 / wire version 9: PyMongo 4.20 refuses servers below wire 9, and
 *       the library's newest built-in version (5.0) reports wire 8.
 *   <li>It commits the MVStore after every write command, before the reply leaves: MVStore
 *       auto-commits about once a second, so a kill -9 would lose acknowledged writes. (A commit
 *       writes but does not fsync: a crash of this process loses nothing acknowledged; a power
 *       loss may.)
 *   <li>A query narrows to the documents of any unique index whose keys it fixes by equality (or
 *       by {@code $in} on a single-key index) before the full query is matched. The library uses an
 *       index only when the query's keys are exactly the index's keys, so {@code {_id: x,
 *       version: 3}} scanned the whole collection.
 * </ol>
 *
 * <p>Usage: {@code Launcher --port N [--host 127.0.0.1] [--data-dir DIR | --in-memory]
 * [--no-narrowing]}. Prints {@code READY <port>} once it listens.
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

    private static final Set<String> WRITE_COMMANDS = Set.of(
        "insert", "update", "delete", "findandmodify", "createindexes", "dropindexes", "drop",
        "dropdatabase", "create", "renamecollection");

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
            store = new MVStore.Builder()
                .fileName(dataDir.resolve("db.mv").toString())
                .autoCommitDisabled()
                .open();
        }
        CdpBackend backend = new CdpBackend(store, narrowing);
        backend.version(MONGO_4_4);
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

    /** The H2 backend with a commit per write command and narrowing collections. */
    static final class CdpBackend extends H2Backend {
        private final boolean narrowing;

        CdpBackend(MVStore store, boolean narrowing) {
            super(store);
            this.narrowing = narrowing;
        }

        @Override
        protected MongoDatabase openOrCreateDatabase(String databaseName) {
            return new NarrowingDatabase(databaseName);
        }

        @Override
        public Document handleCommand(Channel channel, String database, String command, Document query) {
            Document response = super.handleCommand(channel, database, command, query);
            if (WRITE_COMMANDS.contains(command.toLowerCase(Locale.ROOT))) {
                synchronized (this) { // one commit at a time across the server's I/O threads
                    commit();
                }
            }
            return response;
        }

        /** A non-static inner class: H2Database's constructor already opens collections. */
        final class NarrowingDatabase extends H2Database {
            // H2Database's map names (its constants are not visible here): keep them identical,
            // or existing data files would open as empty collections.
            private static final String DATA_PREFIX = "databases.";
            private static final String META_PREFIX = "meta.";

            NarrowingDatabase(String name) {
                super(name, getMvStore(), getCursorRegistry());
            }

            @Override
            protected MongoCollection<Object> openOrCreateCollection(String name, CollectionOptions options) {
                String fullName = getFullCollectionNamespace(name);
                MVMap<Object, Document> data = getMvStore().openMap(DATA_PREFIX + fullName);
                MVMap<String, Object> meta = getMvStore().openMap(META_PREFIX + fullName);
                return new NarrowingCollection(this, name, options, data, meta, cursorRegistry, narrowing);
            }
        }
    }

    static final class NarrowingCollection extends H2Collection {
        private final List<Index<Object>> uniqueIndexes = new CopyOnWriteArrayList<>();
        private final boolean narrowing;

        NarrowingCollection(MongoDatabase database, String name, CollectionOptions options,
                            MVMap<Object, Document> data, MVMap<String, Object> meta,
                            CursorRegistry cursors, boolean narrowing) {
            super(database, name, options, data, meta, cursors);
            this.narrowing = narrowing;
        }

        @Override
        public void addIndex(Index<Object> index) {
            super.addIndex(index);
            if (index.isUnique()) {
                uniqueIndexes.add(index);
            }
        }

        @Override
        public void dropIndex(String indexName) {
            super.dropIndex(indexName);
            uniqueIndexes.removeIf(index -> index.getName().equals(indexName));
        }

        @Override
        public void drop() {
            super.drop();
            uniqueIndexes.clear();
        }

        @Override
        protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit,
                                             int batchSize, Document fieldSelector) {
            if (narrowing) {
                for (Index<Object> index : uniqueIndexes) {
                    Document lookup = lookupBy(index, query);
                    if (lookup != null && index.canHandle(lookup)) {
                        Iterable<Object> candidates = index.getPositions(lookup);
                        return matchDocuments(query, candidates, orderBy, skip, limit, batchSize, fieldSelector);
                    }
                }
            }
            return super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector);
        }

        /**
         * The part of {@code query} that pins {@code index}'s keys, or null when the query has
         * nothing more (the library handles that itself) or does not pin every key safely.
         */
        private static Document lookupBy(Index<Object> index, Document query) {
            List<IndexKey> keys = index.getKeys();
            if (query.size() <= keys.size()) {
                return null;
            }
            Document lookup = new Document();
            for (IndexKey key : keys) {
                Object value = query.get(key.getKey());
                if (!pinsOneKey(value, keys.size() == 1)) {
                    return null;
                }
                lookup.put(key.getKey(), value);
            }
            return lookup;
        }

        /**
         * Plain scalar equality, or {@code $in} of scalars on a single-key index. Null (which also
         * matches a missing field, absent from a sparse index), arrays, embedded documents,
         * regular expressions and other operators are left to the full scan.
         */
        private static boolean pinsOneKey(Object value, boolean singleKey) {
            if (value instanceof Document operator) {
                return singleKey && operator.size() == 1 && operator.get("$in") instanceof Collection<?> values
                    && !values.isEmpty() && values.stream().allMatch(Launcher.NarrowingCollection::isScalar);
            }
            return isScalar(value);
        }

        private static boolean isScalar(Object value) {
            return value != null && !(value instanceof Document) && !(value instanceof Collection<?>)
                && !(value instanceof Pattern) && !value.getClass().getName().contains("RegularExpression");
        }
    }
}
