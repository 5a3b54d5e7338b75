package cdp.mongo;

import java.util.Iterator;
import java.util.NoSuchElementException;

/**
 * An iterator that reads one element ahead, for the lazy reads of an index or the data map:
 * {@link #advance} returns the next element, or null at the end.
 */
abstract class Lookahead<T> implements Iterator<T> {
    private T next;
    private boolean started;

    /** The next element, or null when there is none. */
    protected abstract T advance();

    @Override
    public boolean hasNext() {
        if (!started) {
            started = true;
            next = advance();
        }
        return next != null;
    }

    @Override
    public T next() {
        if (!hasNext()) {
            throw new NoSuchElementException();
        }
        T result = next;
        next = advance();
        return result;
    }
}
