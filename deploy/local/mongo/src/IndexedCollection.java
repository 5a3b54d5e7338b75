package cdp.mongo;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.h2.H2Collection;
import de.bwaldvogel.mongo.bson.Document;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.Spliterators;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.h2.mvstore.MVMap;

/**
 * The H2 collection with queries served by every index it has ({@link QueryPlanner}), reads
 * stopped at the limit when the index gives the sort order, aggregates' leading {@code $match}
 * served the same way, and the queries no index served recorded ({@link ScanRecord}).
 */
final class IndexedCollection extends H2Collection {
    private final List<Index<Object>> uniqueIndexes = new CopyOnWriteArrayList<>();
    private final List<SecondaryIndex> secondaryIndexes = new CopyOnWriteArrayList<>();
    private final QueryPlanner planner;
    private final boolean planning;
    private final boolean system;
    private final String databaseName;

    IndexedCollection(MongoDatabase database, String name, CollectionOptions options,
                      MVMap<Object, Document> data, MVMap<String, Object> meta,
                      CursorRegistry cursors, boolean planning) {
        super(database, name, options, data, meta, cursors);
        this.planner = new QueryPlanner(uniqueIndexes, secondaryIndexes, data);
        this.planning = planning;
        this.system = name.startsWith("system.");
        this.databaseName = database.getDatabaseName();
    }

    // Every document a write leaves behind goes to the journal, in the order the writes apply
    // (these run under the collection's lock). The library's own system collections are not
    // journaled: what changes them (creating, dropping an index) is checkpointed at once.

    @Override
    protected Object addDocumentInternal(Document document) {
        Object position = super.addDocumentInternal(document);
        if (!system) {
            Journal.recordChange(databaseName, getCollectionName(), position, document);
        }
        return position;
    }

    @Override
    protected void handleUpdate(Object position, Document oldDocument, Document newDocument) {
        super.handleUpdate(position, oldDocument, newDocument);
        if (!system) {
            Journal.recordChange(databaseName, getCollectionName(), position, newDocument);
        }
    }

    @Override
    protected void removeDocument(Object position) {
        super.removeDocument(position);
        if (!system) {
            Journal.recordChange(databaseName, getCollectionName(), position, null);
        }
    }

    /**
     * A restart's replay of the journal, first step: takes out what the store holds under a
     * position the journal changed (with its index entries). The second step adds the documents
     * as the journal left them: all removals go first, so that no unique key clashes with a
     * value another document held only for a while.
     */
    void removeForReplay(Object position) {
        Document stored = getDocument(position);
        if (stored != null) {
            removeDocument(stored);
        }
    }

    void addForReplay(Document document) {
        addDocument(document);
    }

    @Override
    public void addIndex(Index<Object> index) {
        super.addIndex(index);
        if (index.isUnique() && !uniqueIndexes.contains(index)) {
            uniqueIndexes.add(index);
        } else if (index instanceof SecondaryIndex secondary && !secondaryIndexes.contains(secondary)) {
            secondaryIndexes.add(secondary);
        }
    }

    @Override
    public void dropIndex(String indexName) {
        super.dropIndex(indexName);
        uniqueIndexes.removeIf(index -> index.getName().equals(indexName));
        secondaryIndexes.removeIf(index -> index.getName().equals(indexName));
    }

    @Override
    public void drop() {
        super.drop();
        uniqueIndexes.clear();
        secondaryIndexes.clear();
    }

    @Override
    protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit,
                                         int batchSize, Document fieldSelector) {
        if (system) {
            return super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector);
        }
        QueryPlanner.Candidates candidates = planning ? planner.plan(query, orderBy, limit > 0) : null;
        if (candidates == null) {
            ScanRecord.record(getFullName(), query, orderBy, count());
            return super.queryDocuments(query, orderBy, skip, limit, batchSize, fieldSelector);
        }
        Stream<Document> documents = StreamSupport.stream(
                Spliterators.spliteratorUnknownSize(distinct(candidates.positions()), 0), false)
            .map(this::getDocument)
            .filter(Objects::nonNull);
        if (candidates.inSortOrder() && limit > 0) {
            // The index gives the order: the first skip + limit matches are the answer.
            List<Document> first = documents.filter(document -> documentMatchesQuery(document, query))
                .limit((long) skip + limit)
                .collect(Collectors.toList());
            documents = first.stream();
        }
        return matchDocumentsFromStream(documents, query, orderBy, skip, limit, batchSize, fieldSelector);
    }

    /** An aggregate's leading {@code $match} reads its candidates by index, as a find would. */
    @Override
    public Stream<Document> queryAllAsStream() {
        Document match = QueryContext.takeMatch(getCollectionName());
        QueryResult result = queryDocuments(match != null ? match : new Document(), null, 0, 0, 0, null);
        return StreamSupport.stream(result.spliterator(), false);
    }

    /** Multikey entries and {@code $or} branches may name a document twice. */
    private static Iterator<Object> distinct(Iterator<Object> positions) {
        Set<Object> seen = new HashSet<>();
        return new Lookahead<>() {
            @Override
            protected Object advance() {
                while (positions.hasNext()) {
                    Object position = positions.next();
                    if (seen.add(position)) {
                        return position;
                    }
                }
                return null;
            }
        };
    }
}
