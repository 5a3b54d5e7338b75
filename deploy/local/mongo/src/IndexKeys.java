package cdp.mongo;

import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.time.Instant;
import java.util.Collection;
import java.util.Locale;

/**
 * The order-preserving text form of index keys, so that one MVStore map of strings can hold a
 * secondary index and answer equality, prefix and range lookups in MongoDB's order.
 *
 * <p>A key is a run of components, one per indexed field, then the document's position (its
 * {@code _id}) to keep entries distinct. A component is a type tag (in MongoDB's type order),
 * the value's sortable form, and {@link #END}, which sorts below every character a value can
 * hold. Strings compare as Java strings, as the library's own matcher does. Numbers are folded to
 * doubles: two longs above 2^53 may share a key, which only widens a lookup, since every
 * candidate is matched against the full query afterwards. Documents, arrays, binary data and
 * other rare types keep only their tag: equality on them is a superset too, and they are never
 * used for ranges.
 */
final class IndexKeys {
    static final char END = '\u0000';
    /** Above every character that can follow a complete component (tags are ASCII). */
    static final char AFTER_COMPONENT = '\uffff';

    static final char NULL = '1';
    static final char NUMBER = '2';
    static final char STRING = '3';
    static final char DOCUMENT = '4';
    static final char ARRAY = '5';
    static final char BINARY = '6';
    static final char OBJECT_ID = '7';
    static final char BOOLEAN = '8';
    static final char DATE = '9';
    static final char TIMESTAMP = ':';
    static final char OTHER = '~';

    private IndexKeys() {
    }

    static char tag(Object value) {
        if (value == null || value instanceof Missing) {
            return NULL;
        } else if (value instanceof Number) {
            return NUMBER;
        } else if (value instanceof String) {
            return STRING;
        } else if (value instanceof Document) {
            return DOCUMENT;
        } else if (value instanceof Collection<?>) {
            return ARRAY;
        } else if (value instanceof ObjectId) {
            return OBJECT_ID;
        } else if (value instanceof Boolean) {
            return BOOLEAN;
        } else if (value instanceof Instant) {
            return DATE;
        } else if (value instanceof BsonTimestamp) {
            return TIMESTAMP;
        } else if (value instanceof byte[] || value instanceof java.util.UUID
            || value.getClass().getSimpleName().equals("BinData")
            || value.getClass().getSimpleName().equals("LegacyUUID")) {
            return BINARY;
        }
        return OTHER;
    }

    /** Whether a range ($gt, $lt, a prefix) over values of this tag can be read off the index. */
    static boolean ordered(char tag) {
        return tag == NUMBER || tag == STRING || tag == OBJECT_ID || tag == BOOLEAN || tag == DATE;
    }

    /** The value's whole component: tag, sortable body, end. */
    static String component(Object value) {
        StringBuilder out = new StringBuilder(24);
        appendComponent(out, value);
        return out.toString();
    }

    static void appendComponent(StringBuilder out, Object value) {
        char tag = tag(value);
        out.append(tag);
        appendBody(out, tag, value);
        out.append(END);
    }

    /** Tag and body without the end: the prefix every string starting with {@code text} has. */
    static String stringPrefix(String text) {
        StringBuilder out = new StringBuilder(text.length() + 1).append(STRING);
        appendEscaped(out, text);
        return out.toString();
    }

    /**
     * The position's component. Unlike a value it must be unique per document, so rare types keep
     * their class and text (never compared, only told apart).
     */
    static void appendPosition(StringBuilder out, Object position) {
        char tag = tag(position);
        if (tag == STRING || tag == OBJECT_ID) {
            appendComponent(out, position);
            return;
        }
        out.append(tag);
        if (tag == NUMBER) {
            appendBody(out, tag, position);
        }
        appendEscaped(out, position == null ? "null" : position.getClass().getSimpleName() + ":" + position);
        out.append(END);
    }

    private static void appendBody(StringBuilder out, char tag, Object value) {
        switch (tag) {
            case NUMBER -> out.append(sortableHex(sortableBits(((Number) value).doubleValue())));
            case STRING -> appendEscaped(out, (String) value);
            case OBJECT_ID -> out.append(((ObjectId) value).getHexData().toLowerCase(Locale.ROOT));
            case BOOLEAN -> out.append(((Boolean) value) ? '1' : '0');
            case DATE -> out.append(sortableHex(((Instant) value).toEpochMilli() ^ Long.MIN_VALUE));
            default -> {
                // tag only: equality on these types is answered by the tag, then matched
            }
        }
    }

    /** Keeps {@link #END} the lowest character: 0 becomes 1 1, 1 becomes 1 2. */
    private static void appendEscaped(StringBuilder out, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\u0000') {
                out.append('\u0001').append('\u0001');
            } else if (c == '\u0001') {
                out.append('\u0001').append('\u0002');
            } else {
                out.append(c);
            }
        }
    }

    /** Doubles as unsigned longs in numeric order; NaN lowest (as MongoDB sorts it), -0 as 0. */
    private static long sortableBits(double value) {
        if (Double.isNaN(value)) {
            return 0L;
        }
        long bits = Double.doubleToLongBits(value == 0.0 ? 0.0 : value);
        return bits < 0 ? ~bits : bits | Long.MIN_VALUE;
    }

    private static String sortableHex(long unsigned) {
        String hex = Long.toHexString(unsigned);
        return "0".repeat(16 - hex.length()) + hex;
    }
}
