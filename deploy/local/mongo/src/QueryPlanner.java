package cdp.mongo;

import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;

/**
 * Chooses how a query reads a collection: by a unique index, by a secondary index, by a range of
 * {@code _id} over the data map itself, by the union of one such read per branch of a top-level
 * {@code $or}, or not at all (null: the caller scans). Every read yields candidates only; the
 * caller matches each against the full query, so a plan may be wider than the query, never
 * narrower.
 *
 * <p>The rule among usable plans: a unique index whose keys the query fixes by equality first;
 * then the plan that fixes the most index keys by equality; then the one with the fewest
 * candidates, which a secondary index counts in two B-tree descents per range.
 */
final class QueryPlanner {
    private static final int MAX_RANGES = 1_000;
    private static final long PAGE_GUESS = 100;

    /** Candidate positions, and whether they come in the order the query sorts by. */
    record Candidates(Iterator<Object> positions, boolean inSortOrder) {
    }

    private record Option(int rank, int equalityKeys, long estimate, Candidates candidates) {
        /**
         * A limited read in the sort's order stops early: it costs about a page, not all its
         * candidates.
         */
        Option stoppingAt(boolean limited, Document orderBy) {
            if (limited && !isEmpty(orderBy) && candidates.inSortOrder() && estimate > PAGE_GUESS) {
                return new Option(rank, equalityKeys, PAGE_GUESS, candidates);
            }
            return this;
        }

        boolean betterThan(Option other) {
            if (other == null) {
                return true;
            }
            if (rank != other.rank) {
                return rank > other.rank;
            }
            if (equalityKeys != other.equalityKeys) {
                return equalityKeys > other.equalityKeys;
            }
            return estimate < other.estimate;
        }
    }

    /** A query flattened through {@code $and}: each field's first condition, and any {@code $or}. */
    private static final class Conjunction {
        final Map<String, Object> conditions = new LinkedHashMap<>();
        final Map<String, Constraint> constraints = new LinkedHashMap<>();
        List<Document> or;

        Conjunction copy() {
            Conjunction copy = new Conjunction();
            copy.conditions.putAll(conditions);
            copy.constraints.putAll(constraints);
            return copy;
        }

        void add(Document query) {
            for (Map.Entry<String, Object> entry : query.entrySet()) {
                String key = entry.getKey();
                Object value = entry.getValue();
                if (key.equals("$and") && value instanceof Collection<?> parts) {
                    for (Object part : parts) {
                        if (part instanceof Document document) {
                            add(document);
                        }
                    }
                } else if (key.equals("$or") && value instanceof Collection<?> branches) {
                    List<Document> documents = new ArrayList<>();
                    for (Object branch : branches) {
                        if (branch instanceof Document document) {
                            documents.add(document);
                        }
                    }
                    if (documents.size() == 1) {
                        add(documents.get(0));
                    } else if (or == null && documents.size() == branches.size()) {
                        or = documents;
                    }
                } else if (!key.startsWith("$")) {
                    conditions.putIfAbsent(key, value);
                    Constraint constraint = Constraint.of(value);
                    if (constraint != null && precedence(constraint) > precedence(constraints.get(key))) {
                        constraints.put(key, constraint);
                    }
                }
            }
        }

        private static int precedence(Constraint constraint) {
            if (constraint instanceof Constraint.Values) {
                return 3;
            } else if (constraint instanceof Constraint.Range) {
                return 2;
            } else if (constraint instanceof Constraint.Prefix) {
                return 1;
            }
            return 0;
        }
    }

    private final List<Index<Object>> uniqueIndexes;
    private final List<SecondaryIndex> secondaryIndexes;
    private final MVMap<Object, ?> data;

    QueryPlanner(List<Index<Object>> uniqueIndexes, List<SecondaryIndex> secondaryIndexes, MVMap<Object, ?> data) {
        this.uniqueIndexes = uniqueIndexes;
        this.secondaryIndexes = secondaryIndexes;
        this.data = data;
    }

    /**
     * How to read the query's candidates, or null when no index serves it. {@code limited}: the
     * read stops at a limit, so walking a sort's index in order pays even when no index narrows
     * the filter (as mongod does: an index scan, not a collection scan).
     */
    Candidates plan(Document query, Document orderBy, boolean limited) {
        Conjunction conjunction = new Conjunction();
        conjunction.add(query);
        Option best = best(conjunction, orderBy, limited);
        if (conjunction.or != null && (best == null || best.rank == 0 && best.equalityKeys == 0)) {
            Candidates union = union(conjunction);
            if (union != null) {
                return union;
            }
        }
        if (best == null && (query.isEmpty() || limited)) {
            return inSortOrderOnly(orderBy);
        }
        return best == null ? null : best.candidates;
    }

    private Candidates union(Conjunction conjunction) {
        List<Iterator<Object>> parts = new ArrayList<>();
        for (Document branch : conjunction.or) {
            Conjunction alternative = conjunction.copy();
            alternative.add(branch);
            Option option = best(alternative, null, false);
            if (option == null) {
                return null;
            }
            parts.add(option.candidates.positions());
        }
        return new Candidates(concat(parts), false);
    }

    private Option best(Conjunction conjunction, Document orderBy, boolean limited) {
        for (Constraint constraint : conjunction.constraints.values()) {
            if (constraint instanceof Constraint.Values values && values.values().isEmpty()) {
                // $in: [] matches nothing: no read at all
                return new Option(2, 0, 0, new Candidates(Collections.emptyIterator(), true));
            }
        }
        Option best = null;
        for (Index<Object> index : uniqueIndexes) {
            Option option = byUnique(index, conjunction);
            if (option != null && option.betterThan(best)) {
                best = option;
            }
        }
        if (best != null) {
            return best;
        }
        for (SecondaryIndex index : secondaryIndexes) {
            Option option = bySecondary(index, conjunction, orderBy);
            if (option != null && option.stoppingAt(limited, orderBy).betterThan(best)) {
                best = option.stoppingAt(limited, orderBy);
            }
        }
        Option byId = byIdRange(conjunction, orderBy);
        if (byId != null && byId.stoppingAt(limited, orderBy).betterThan(best)) {
            best = byId.stoppingAt(limited, orderBy);
        }
        return best;
    }

    private static Option byUnique(Index<Object> index, Conjunction conjunction) {
        List<IndexKey> keys = index.getKeys();
        Document lookup = new Document();
        for (IndexKey key : keys) {
            Object value = conjunction.conditions.get(key.getKey());
            if (!pinsOneKey(value, keys.size() == 1)) {
                return null;
            }
            lookup.put(key.getKey(), value);
        }
        if (!index.canHandle(lookup)) {
            return null;
        }
        Iterable<Object> positions = index.getPositions(lookup);
        return new Option(1, keys.size(), 1, new Candidates(positions.iterator(), false));
    }

    /**
     * Plain scalar equality, or {@code $in} of scalars on a single-key index. Null (which also
     * matches a missing field, absent from a sparse index), arrays, embedded documents, regular
     * expressions and other operators are left to the other plans.
     */
    private static boolean pinsOneKey(Object value, boolean singleKey) {
        if (value instanceof Document operator) {
            return singleKey && operator.size() == 1 && operator.get("$in") instanceof Collection<?> values
                && !values.isEmpty() && values.stream().allMatch(QueryPlanner::isScalar);
        }
        return isScalar(value);
    }

    private static boolean isScalar(Object value) {
        return value != null && !(value instanceof Document) && !(value instanceof Collection<?>)
            && !(value instanceof Pattern) && !value.getClass().getName().contains("RegularExpression");
    }

    private Option bySecondary(SecondaryIndex index, Conjunction conjunction, Document orderBy) {
        List<IndexKey> keys = index.getKeys();
        List<String> prefixes = List.of("");
        int equalityKeys = 0;
        Constraint last = null;
        for (IndexKey key : keys) {
            Constraint constraint = conjunction.constraints.get(key.getKey());
            if (constraint instanceof Constraint.Values values) {
                if (index.sparse() && equalityKeys == 0 && values.hasNull()) {
                    return null; // a sparse index lacks the documents without the field
                }
                if (prefixes.size() * values.values().size() > MAX_RANGES) {
                    break;
                }
                List<String> longer = new ArrayList<>();
                for (String prefix : prefixes) {
                    for (Object value : values.values()) {
                        longer.add(prefix + IndexKeys.component(value));
                    }
                }
                prefixes = longer;
                equalityKeys++;
                continue;
            }
            last = constraint;
            break;
        }
        if (equalityKeys == 0 && last == null) {
            return null;
        }
        List<String[]> ranges = new ArrayList<>(prefixes.size());
        for (String prefix : prefixes) {
            ranges.add(range(prefix, last));
        }
        long estimate = 0;
        for (String[] range : ranges) {
            estimate += index.estimate(range[0], range[1] != null ? range[1] : range[0] + IndexKeys.AFTER_COMPONENT);
        }
        Boolean reverse = ranges.size() == 1 ? sortDirection(index, equalityKeys, conjunction, orderBy) : null;
        if (reverse == null && isEmpty(orderBy)) {
            reverse = false; // no order asked: any order will do
        }
        boolean inSortOrder = reverse != null;
        boolean backwards = inSortOrder && reverse && ranges.get(0)[1] != null;
        if (inSortOrder && reverse && !backwards) {
            inSortOrder = false;
        }
        List<Iterator<Object>> parts = new ArrayList<>(ranges.size());
        for (String[] range : ranges) {
            parts.add(index.scan(range[0], range[1], range[2], backwards));
        }
        int usedKeys = equalityKeys + (last != null ? 1 : 0);
        return new Option(0, equalityKeys, estimate + (usedKeys == 0 ? Long.MAX_VALUE / 2 : 0),
            new Candidates(concat(parts), inSortOrder));
    }

    /** {from, to (exclusive, or null), prefix} for the keys after {@code prefix}. */
    private static String[] range(String prefix, Constraint constraint) {
        if (constraint instanceof Constraint.Range range) {
            String from = prefix + (range.low() != null ? IndexKeys.component(range.low()) : String.valueOf(range.tag()));
            String to = prefix + (range.high() != null
                ? IndexKeys.component(range.high()) + IndexKeys.AFTER_COMPONENT
                : String.valueOf((char) (range.tag() + 1)));
            return new String[] {from, to, prefix};
        }
        if (constraint instanceof Constraint.Prefix text) {
            String from = prefix + IndexKeys.stringPrefix(text.text());
            return new String[] {from, null, from};
        }
        return new String[] {prefix, prefix + IndexKeys.AFTER_COMPONENT, prefix};
    }

    /**
     * Whether reading the index in order (false) or backwards (true) gives the query's sort
     * order; null when it does not. The keys fixed to one value are constant and left out.
     */
    private static Boolean sortDirection(SecondaryIndex index, int equalityKeys, Conjunction conjunction,
                                         Document orderBy) {
        if (isEmpty(orderBy) || orderBy.containsKey("$natural")) {
            return null;
        }
        List<IndexKey> keys = index.getKeys();
        int position = equalityKeys;
        Boolean reverse = null;
        for (Map.Entry<String, Object> sort : orderBy.entrySet()) {
            if (conjunction.constraints.get(sort.getKey()) instanceof Constraint.Values values
                && values.values().size() == 1) {
                continue;
            }
            if (position >= keys.size() || !keys.get(position).getKey().equals(sort.getKey())
                || index.multikeyAt(position)) {
                return null; // not the index's next key, or one whose arrays repeat documents
            }
            // Entries are stored in ascending order whatever the key's declared direction, so a
            // sort reads them forwards or backwards, all keys one way (mixed: not in order).
            boolean backwards = ((Number) sort.getValue()).doubleValue() < 0;
            if (reverse != null && reverse != backwards) {
                return null;
            }
            reverse = backwards;
            position++;
        }
        return reverse == null ? Boolean.FALSE : reverse;
    }

    /**
     * A range of {@code _id} over the data map, which MVStore keeps in key order: strings as Java
     * orders them (as the library's matcher does) and ObjectIds by their bytes. Other id types
     * are left to the other plans.
     */
    private Option byIdRange(Conjunction conjunction, Document orderBy) {
        if (!(conjunction.constraints.get("_id") instanceof Constraint.Range range)
            || (range.tag() != IndexKeys.STRING && range.tag() != IndexKeys.OBJECT_ID)) {
            return null;
        }
        Object low = range.low();
        Object high = range.high();
        Class<?> type = (low != null ? low : high).getClass();
        Object from = low;
        if (from == null) {
            from = type == String.class ? "" : null;
            if (from == null) {
                return null;
            }
        }
        long estimate = (high != null ? rank(high) : data.sizeAsLong()) - rank(from);
        boolean inSortOrder = isEmpty(orderBy) || isIdAscending(orderBy);
        return new Option(0, 0, Math.max(0, estimate), new Candidates(idRange(from, high, type), inSortOrder));
    }

    private static boolean isIdAscending(Document orderBy) {
        return orderBy.size() == 1 && orderBy.get("_id") instanceof Number direction && direction.doubleValue() > 0;
    }

    private long rank(Object key) {
        long index = data.getKeyIndex(key);
        return index >= 0 ? index : -index - 1;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private Iterator<Object> idRange(Object from, Object high, Class<?> type) {
        Cursor<Object, ?> cursor = data.cursor(from, null, false);
        Comparable bound = (Comparable) high;
        return new Lookahead<>() {
            @Override
            protected Object advance() {
                if (!cursor.hasNext()) {
                    return null;
                }
                Object key = cursor.next();
                if (key == null || key.getClass() != type || (bound != null && bound.compareTo(key) < 0)) {
                    return null;
                }
                return key;
            }
        };
    }

    /**
     * A filter no index narrows, sorted by an index's keys: read that index in order, every
     * candidate matched, until the caller's limit. Only a non-sparse, single-valued index holds
     * every document once.
     */
    private Candidates inSortOrderOnly(Document orderBy) {
        if (isEmpty(orderBy)) {
            return null;
        }
        Conjunction none = new Conjunction();
        for (SecondaryIndex index : secondaryIndexes) {
            if (index.sparse() || index.multikey()) {
                continue;
            }
            Boolean reverse = sortDirection(index, 0, none, orderBy);
            if (reverse != null) {
                String from = String.valueOf(IndexKeys.NULL);
                String to = String.valueOf(IndexKeys.AFTER_COMPONENT);
                return new Candidates(index.scan(from, to, "", reverse), true);
            }
        }
        return null;
    }

    private static boolean isEmpty(Document orderBy) {
        return orderBy == null || orderBy.isEmpty();
    }

    private static Iterator<Object> concat(List<Iterator<Object>> parts) {
        if (parts.size() == 1) {
            return parts.get(0);
        }
        if (parts.isEmpty()) {
            return Collections.emptyIterator();
        }
        return parts.stream().flatMap(part -> {
            Iterable<Object> iterable = () -> part;
            return java.util.stream.StreamSupport.stream(iterable.spliterator(), false);
        }).iterator();
    }
}
