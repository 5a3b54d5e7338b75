package cdp.mongo;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;

/**
 * A non-unique index kept in an MVStore map beside the collection's data, so it commits with the
 * data and survives a restart (a missing or empty map is rebuilt by the library when the index is
 * added). Each entry's key is the document's index keys and its position in {@link IndexKeys}
 * form; the value is the position, the collection's own key for the document ({@code _id}), so
 * that every index of a collection agrees on it.
 *
 * <p>Multikey: an array in an indexed field gives one entry per element (an empty array one entry
 * of its own, so a compound index still finds the document by its other fields). The library
 * never asks this index to answer a query ({@link #canHandle} is false): {@link QueryPlanner}
 * reads it through {@link #scan}.
 */
final class SecondaryIndex extends Index<Object> {
    /**
     * Marks a key of the index that has held an array, {@code MULTIKEY + position} (before every
     * entry: entries start with a tag). Which key matters: a sort can follow the index past a
     * multikey field fixed by equality, not along one.
     */
    private static final String MULTIKEY = "\u0000multikey:";
    private static final int MAX_ENTRIES_PER_DOCUMENT = 10_000;

    private final MVMap<String, Object> entries;
    private final boolean sparse;
    private final boolean[] multikeyAt;
    private volatile int markers;

    SecondaryIndex(String name, List<IndexKey> keys, boolean sparse, MVMap<String, Object> entries) {
        super(name, keys, sparse);
        this.entries = entries;
        this.sparse = sparse;
        this.multikeyAt = new boolean[keys.size()];
        for (int i = 0; i < keys.size(); i++) {
            if (entries.containsKey(MULTIKEY + i)) {
                multikeyAt[i] = true;
                markers++;
            }
        }
    }

    boolean sparse() {
        return sparse;
    }

    /** Whether any key has held an array: a document may stand in the index more than once. */
    boolean multikey() {
        return markers > 0;
    }

    boolean multikeyAt(int position) {
        return multikeyAt[position];
    }

    /** The entries' keys for a document, or none when a sparse index skips it. */
    private Set<String> entryKeys(Document document, Object position) {
        List<List<Object>> valuesPerKey = new ArrayList<>();
        boolean anyPresent = false;
        List<IndexKey> keys = getKeys();
        for (int i = 0; i < keys.size(); i++) {
            Object value = valueAt(document, keys.get(i).getKey());
            anyPresent |= !(value instanceof Missing);
            if (value instanceof Collection<?> values && !values.isEmpty()) {
                valuesPerKey.add(new ArrayList<>(new LinkedHashSet<>(values)));
                markMultikey(i);
            } else {
                List<Object> single = new ArrayList<>(1);
                single.add(value);
                valuesPerKey.add(single);
            }
        }
        if (sparse && !anyPresent) {
            return Set.of();
        }
        StringBuilder suffix = new StringBuilder();
        IndexKeys.appendPosition(suffix, position);
        Set<String> result = new LinkedHashSet<>();
        product(valuesPerKey, 0, new StringBuilder(), suffix.toString(), result);
        return result;
    }

    /**
     * The value at a dotted path as MongoDB indexes it: a field of a document, or across the
     * elements of an array (their values gathered, flattened one level, a missing one as
     * Missing, which indexes as null); a numeric segment on an array is that element ({@code
     * outbox.0.at}). A single value, Missing, or a list of values (one index entry each).
     */
    static Object valueAt(Document document, String path) {
        List<Object> found = new ArrayList<>();
        boolean crossedArray = collect(document, Utils.splitPath(path), 0, found);
        if (!crossedArray) {
            return found.get(0);
        }
        List<Object> values = new ArrayList<>();
        for (Object value : found) {
            if (value instanceof Collection<?> elements) {
                values.addAll(elements);
            } else {
                values.add(value);
            }
        }
        return values;
    }

    /** Gathers the values under {@code segments[i..]}; true when an array was crossed. */
    private static boolean collect(Object value, List<String> segments, int i, List<Object> out) {
        if (i == segments.size()) {
            out.add(value);
            return false;
        }
        String segment = segments.get(i);
        if (value instanceof Document document) {
            Object next = document.containsKey(segment) ? document.get(segment) : Missing.getInstance();
            return collect(next, segments, i + 1, out);
        }
        if (value instanceof List<?> elements) {
            if (isPosition(segment)) {
                int position = Integer.parseInt(segment);
                Object element = position < elements.size() ? elements.get(position) : Missing.getInstance();
                return collect(element, segments, i + 1, out);
            }
            for (Object element : elements) {
                if (element instanceof Document) {
                    collect(element, segments, i, out);
                } else {
                    out.add(Missing.getInstance());
                }
            }
            return true;
        }
        out.add(Missing.getInstance());
        return false;
    }

    private static boolean isPosition(String segment) {
        return !segment.isEmpty() && segment.length() < 9 && segment.chars().allMatch(Character::isDigit);
    }

    private synchronized void markMultikey(int position) {
        if (!multikeyAt[position]) {
            multikeyAt[position] = true;
            entries.put(MULTIKEY + position, Boolean.TRUE);
            markers++;
        }
    }

    private static void product(List<List<Object>> valuesPerKey, int depth, StringBuilder prefix,
                                String suffix, Set<String> out) {
        if (depth == valuesPerKey.size()) {
            out.add(prefix + suffix);
            return;
        }
        int length = prefix.length();
        for (Object value : valuesPerKey.get(depth)) {
            if (out.size() >= MAX_ENTRIES_PER_DOCUMENT) {
                throw new IllegalStateException("over " + MAX_ENTRIES_PER_DOCUMENT + " index keys in one document");
            }
            IndexKeys.appendComponent(prefix, value);
            product(valuesPerKey, depth + 1, prefix, suffix, out);
            prefix.setLength(length);
        }
    }

    private static Object positionOf(Document document) {
        return document.get("_id");
    }

    @Override
    public Object getPosition(Document document) {
        return null; // the _id index answers; this one only agrees with it
    }

    @Override
    public void checkAdd(Document document, MongoCollection<Object> collection) {
        // not unique: nothing to check
    }

    @Override
    public void add(Document document, Object position, MongoCollection<Object> collection) {
        for (String key : entryKeys(document, position)) {
            entries.put(key, position);
        }
    }

    @Override
    public Object remove(Document document) {
        Object position = positionOf(document);
        Object stored = null;
        for (String key : entryKeys(document, position)) {
            Object removed = entries.remove(key);
            if (removed != null) {
                stored = removed;
            }
        }
        if (stored != null) {
            return stored;
        }
        return sparse ? null : position;
    }

    @Override
    public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> collection) {
        // not unique: nothing to check
    }

    @Override
    public void updateInPlace(Document oldDocument, Document newDocument, Object position,
                              MongoCollection<Object> collection) {
        Set<String> before = entryKeys(oldDocument, position);
        Set<String> after = entryKeys(newDocument, position);
        for (String key : before) {
            if (!after.contains(key)) {
                entries.remove(key);
            }
        }
        for (String key : after) {
            if (!before.contains(key)) {
                entries.put(key, position);
            }
        }
    }

    @Override
    public boolean canHandle(Document query) {
        return false;
    }

    @Override
    public Iterable<Object> getPositions(Document query) {
        throw new UnsupportedOperationException("read through QueryPlanner");
    }

    @Override
    public long getCount() {
        return entries.sizeAsLong() - markers;
    }

    @Override
    public boolean isEmpty() {
        return getCount() == 0;
    }

    @Override
    public long getDataSize() {
        return getCount();
    }

    @Override
    public void drop() {
        // the database removes the map
    }

    /** About how many entries lie in [from, to): two B-tree descents. */
    long estimate(String from, String to) {
        return Math.max(0, rank(to) - rank(from));
    }

    private long rank(String key) {
        long index = entries.getKeyIndex(key);
        return index >= 0 ? index : -index - 1;
    }

    /**
     * The positions of the entries in [from, to) that start with {@code prefix}, in key order or
     * reversed, read lazily. {@code to} may be null (no bound but the prefix) except in reverse.
     * {@code from} starts with {@code prefix}, so the matching entries are one contiguous run.
     */
    Iterator<Object> scan(String from, String to, String prefix, boolean reverse) {
        final Cursor<String, Object> cursor;
        if (reverse) {
            String last = entries.lowerKey(to);
            if (last == null) {
                return java.util.Collections.emptyIterator();
            }
            cursor = entries.cursor(last, null, true);
        } else {
            cursor = entries.cursor(from, null, false);
        }
        return new Lookahead<>() {
            @Override
            protected Object advance() {
                while (cursor.hasNext()) {
                    String key = cursor.next();
                    boolean past = reverse
                        ? key.compareTo(from) < 0
                        : (to != null && key.compareTo(to) >= 0) || !key.startsWith(prefix);
                    if (past) {
                        return null;
                    }
                    if (key.startsWith(prefix) && !key.startsWith(MULTIKEY)) {
                        return cursor.getValue();
                    }
                }
                return null;
            }
        };
    }
}
