package cdp.mongo;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.StringDataType;

/**
 * H2Database with {@link IndexedCollection}s and {@link SecondaryIndex}es in place of the
 * library's ignored ones. H2Database's constructor already opens the collections and their
 * indexes, before a subclass's own fields are set: everything these methods need comes from
 * their arguments or from static state.
 */
final class CdpDatabase extends H2Database {
    // H2Database's map names (its constants are not visible here): keep them identical, or
    // existing data files would open as empty collections, and dropping an index would leave
    // its map behind.
    private static final String DATA_PREFIX = "databases.";
    private static final String META_PREFIX = "meta.";
    private static final String INDEX_INFIX = "._index_";

    /** Set per server before any database opens (the constructor reads it). */
    static volatile boolean planning = true;

    private final MVStore store;

    CdpDatabase(String name, MVStore store, CursorRegistry cursors) {
        super(name, store, cursors);
        this.store = store;
    }

    private MVStore store() {
        // during super(): the field is not set yet, so reach the store the way H2Database does
        return store != null ? store : storeDuringConstruction.get();
    }

    /** The store of the database under construction on this thread. */
    static final ThreadLocal<MVStore> storeDuringConstruction = new ThreadLocal<>();

    static CdpDatabase open(String name, MVStore store, CursorRegistry cursors) {
        storeDuringConstruction.set(store);
        try {
            return new CdpDatabase(name, store, cursors);
        } finally {
            storeDuringConstruction.remove();
        }
    }

    @Override
    protected MongoCollection<Object> openOrCreateCollection(String name, CollectionOptions options) {
        String fullName = getFullCollectionNamespace(name);
        MVMap<Object, Document> data = store().openMap(DATA_PREFIX + fullName);
        MVMap<String, Object> meta = store().openMap(META_PREFIX + fullName);
        return new IndexedCollection(this, name, options, data, meta, cursorRegistry, planning);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName,
                                                       List<IndexKey> keys, boolean sparse) {
        String mapName = getFullCollectionNamespace(collectionName) + INDEX_INFIX + indexName;
        MVMap<String, Object> entries = store().openMap(mapName,
            new MVMap.Builder<String, Object>().keyType(StringDataType.INSTANCE));
        return new SecondaryIndex(indexName, keys, sparse, entries);
    }
}
