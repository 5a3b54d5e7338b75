package cdp.mongo;

import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The queries no index served, in the spirit of mongod's {@code notablescan}: recorded, not
 * refused (a refusal would make a consumer retry its batch forever). The command {@code
 * {cdpScans: 1, reset: true}} reads (and clears) the record; the test fixtures fail a test that
 * caused an unexpected one, and a developer reads from it which index a new query needs. A
 * query with an empty filter, or with {@code hint: {$natural: 1}}, reads the whole collection
 * on purpose: recorded as deliberate.
 */
final class ScanRecord {
    private static final class Entry {
        final String database;
        final String collection;
        final String shape;
        final boolean deliberate;
        long examined;
        long count;

        Entry(String database, String collection, String shape, boolean deliberate) {
            this.database = database;
            this.collection = collection;
            this.shape = shape;
            this.deliberate = deliberate;
        }
    }

    private static final Map<String, Entry> ENTRIES = new ConcurrentHashMap<>();
    private static final int MAX_ENTRIES = 10_000;

    private ScanRecord() {
    }

    static void record(String fullName, Document query, Document orderBy, long examined) {
        int dot = fullName.indexOf('.');
        String database = fullName.substring(0, dot);
        String collection = fullName.substring(dot + 1);
        boolean deliberate = query.isEmpty() || QueryContext.natural();
        String shape = shape(query) + (orderBy == null || orderBy.isEmpty() ? "" : " sort " + orderBy.toString());
        String key = fullName + "\u0000" + shape + "\u0000" + deliberate;
        if (ENTRIES.size() >= MAX_ENTRIES && !ENTRIES.containsKey(key)) {
            return;
        }
        Entry entry = ENTRIES.computeIfAbsent(key, k -> new Entry(database, collection, shape, deliberate));
        synchronized (entry) {
            entry.examined += examined;
            entry.count++;
        }
    }

    static Document report(boolean reset) {
        List<Document> scans = new ArrayList<>();
        for (Map.Entry<String, Entry> item : ENTRIES.entrySet()) {
            Entry entry = item.getValue();
            synchronized (entry) {
                scans.add(new Document("db", entry.database)
                    .append("collection", entry.collection)
                    .append("shape", entry.shape)
                    .append("examined", entry.examined)
                    .append("count", entry.count)
                    .append("deliberate", entry.deliberate));
            }
            if (reset) {
                ENTRIES.remove(item.getKey());
            }
        }
        return new Document("scans", scans).append("ok", 1.0);
    }

    /** The filter with each value replaced by its type: what tells one query shape from another. */
    static String shape(Object value) {
        if (value instanceof Document document) {
            StringBuilder out = new StringBuilder("{");
            for (Map.Entry<String, Object> entry : document.entrySet()) {
                if (out.length() > 1) {
                    out.append(", ");
                }
                out.append(entry.getKey()).append(": ").append(shape(entry.getValue()));
            }
            return out.append('}').toString();
        }
        if (value instanceof Collection<?> values) {
            if (values.isEmpty()) {
                return "[]";
            }
            Object first = values.iterator().next();
            if (first instanceof Document) { // branches of $or / $and: each has its own shape
                List<String> branches = new ArrayList<>();
                values.forEach(branch -> branches.add(shape(branch)));
                return branches.toString();
            }
            return "[" + shape(first) + (values.size() > 1 ? ", ..." : "") + "]";
        }
        return value == null ? "null" : value.getClass().getSimpleName();
    }
}
