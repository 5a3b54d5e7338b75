package cdp.mongo;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.h2.H2Database;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;
import org.h2.mvstore.type.DataType;
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
    /** Our own map: how each unique index's map is kept, by map name (see {@link #reorder}). */
    private static final String FORMATS = "cdp.formats";
    private static final String KEYS_BY_FIELD = "unique keys by field";

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
        MVMap<Object, Document> data = store().openMap(DATA_PREFIX + fullName, documents());
        MVMap<String, Object> meta = store().openMap(META_PREFIX + fullName);
        return new IndexedCollection(this, name, options, data, meta, cursorRegistry, planning);
    }

    @Override
    protected Index<Object> openOrCreateSecondaryIndex(String collectionName, String indexName,
                                                       List<IndexKey> keys, boolean sparse) {
        String mapName = getFullCollectionNamespace(collectionName) + INDEX_INFIX + indexName;
        MVMap<String, Object> entries = store().openMap(mapName,
            new MVMap.Builder<String, Object>().keyType(StringDataType.INSTANCE)
                .valueType(new StoredValueType()));
        return new SecondaryIndex(indexName, keys, sparse, entries);
    }

    @Override
    protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName,
                                                    List<IndexKey> keys, boolean sparse) {
        // The library opens the map by name alone: open it first with our types, and its
        // openMap returns the map already open.
        String mapName = getFullCollectionNamespace(collectionName) + INDEX_INFIX + indexName;
        MVStore store = store();
        MVMap<String, String> formats = store.openMap(FORMATS);
        if (KEYS_BY_FIELD.equals(formats.get(mapName))) {
            store.openMap(mapName, uniqueIndex());
        } else {
            reorder(store, mapName);
            formats.put(mapName, KEYS_BY_FIELD);
        }
        return super.openOrCreateUniqueIndex(collectionName, indexName, keys, sparse);
    }

    /**
     * Opens a unique index's map new, in {@link UniqueKeys}' order: the entries of one an earlier
     * launcher wrote (ordered by the keys' serialized bytes) are put again.
     */
    private static void reorder(MVStore store, String mapName) {
        List<Map.Entry<Object, Object>> entries = new ArrayList<>();
        if (store.hasMap(mapName)) {
            MVMap<Object, Object> old = store.openMap(mapName, uniqueIndex());
            for (Map.Entry<Object, Object> entry : old.entrySet()) { // a walk: no comparison
                entries.add(Map.entry(entry.getKey(), entry.getValue()));
            }
            store.removeMap(old);
        }
        MVMap<Object, Object> map = store.openMap(mapName, uniqueIndex());
        for (Map.Entry<Object, Object> entry : entries) {
            map.put(entry.getKey(), entry.getValue());
        }
    }

    private static MVMap.Builder<Object, Object> uniqueIndex() {
        return new MVMap.Builder<Object, Object>()
            .keyType(new StoredValueType()).valueType(new StoredValueType());
    }

    /** A collection's map: {@code _id} to document, both kept by {@link StoredValueType}. */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private static MVMap.Builder<Object, Document> documents() {
        return new MVMap.Builder<Object, Document>()
            .keyType(new StoredValueType()).valueType((DataType) new StoredValueType());
    }
}
