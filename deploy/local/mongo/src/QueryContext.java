package cdp.mongo;

import de.bwaldvogel.mongo.bson.Document;
import java.util.List;

/**
 * What the command being served says about its reads, for the collection that runs them: the
 * server answers each command on one I/O thread, start to end, so a thread-local carries it.
 *
 * <ul>
 *   <li>{@code hint: {$natural: 1}} marks a deliberate whole-collection read (an export, a
 *       rebuild), which the scan record lets through;
 *   <li>an aggregate's leading {@code $match}: the library feeds a pipeline the whole collection,
 *       so the collection reads the match's candidates by index instead (the stage still
 *       filters them).
 * </ul>
 */
final class QueryContext {
    private record State(boolean natural, String matchCollection, Document match) {
    }

    private static final ThreadLocal<State> CURRENT = new ThreadLocal<>();

    private QueryContext() {
    }

    static void enter(String command, Document query) {
        boolean natural = query.get("hint") instanceof Document hint && hint.containsKey("$natural");
        String collection = null;
        Document match = null;
        if ("aggregate".equalsIgnoreCase(command) && query.get("pipeline") instanceof List<?> stages
            && !stages.isEmpty() && stages.get(0) instanceof Document first
            && first.get("$match") instanceof Document filter && servable(filter)) {
            collection = String.valueOf(query.get(command));
            match = filter;
        }
        CURRENT.set(new State(natural, collection, match));
    }

    static void exit() {
        CURRENT.remove();
    }

    static boolean natural() {
        State state = CURRENT.get();
        return state != null && state.natural();
    }

    /** The pending leading {@code $match} of an aggregate over {@code collection}, taken once. */
    static Document takeMatch(String collection) {
        State state = CURRENT.get();
        if (state == null || state.match() == null || !state.matchCollection().equals(collection)) {
            return null;
        }
        CURRENT.set(new State(state.natural(), null, null));
        return state.match();
    }

    /** Only what a find filter also understands: aggregation-only operators stay in the stage. */
    private static boolean servable(Document filter) {
        return !filter.containsKey("$expr") && !filter.containsKey("$text") && !filter.containsKey("$where");
    }
}
