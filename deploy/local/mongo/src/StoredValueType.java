package cdp.mongo;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonJavaScript;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Decimal128;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.LegacyUUID;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;
import org.h2.mvstore.type.ObjectDataType;

/**
 * How the store keeps documents and the ids that point at them: in BSON, the wire's own encoding.
 * H2's {@link ObjectDataType} knows numbers and strings and falls back to Java serialization for
 * everything else, so every document and every {@code ObjectId} went through an
 * {@code ObjectOutputStream} (class descriptors and all) each time a page holding it was written:
 * most of the server's CPU under a write load, since a commit rewrites each page it touched whole.
 *
 * <p>Compatible both ways with the files of earlier launchers: every value starts with a tag
 * byte. ObjectDataType's tags stay below 120; ours are {@link #DOCUMENT} and {@link #VALUE}, and
 * any other tag is read by ObjectDataType. A store written before opens unchanged, and its pages
 * move to BSON as they are rewritten; what BSON cannot hold is still written by ObjectDataType.
 * Order ({@link #compare}) is ObjectDataType's, so a map's keys keep the order they have in an
 * existing file, except for unique indexes' keys ({@link UniqueKeys}).
 */
final class StoredValueType extends BasicDataType<Object> {
    private static final byte DOCUMENT = (byte) 0xF0;
    private static final byte VALUE = (byte) 0xF1;
    private static final byte UNIQUE_KEY = (byte) 0xF2;

    /** Values that BSON holds and ObjectDataType would serialize. */
    private static final Set<Class<?>> BSON_VALUES = Set.of(
        ObjectId.class, Instant.class, Decimal128.class, BinData.class, LegacyUUID.class,
        BsonTimestamp.class, BsonRegularExpression.class, BsonJavaScript.class, MaxKey.class,
        MinKey.class);

    private static final ThreadLocal<ByteBuf> SCRATCH =
        ThreadLocal.withInitial(() -> Unpooled.buffer(4096));

    private final ObjectDataType fallback = new ObjectDataType();

    @Override
    public int compare(Object a, Object b) {
        if (a instanceof KeyValue x && b instanceof KeyValue y) {
            return UniqueKeys.compare(x, y);
        }
        return fallback.compare(a, b);
    }

    @Override
    public int getMemory(Object value) {
        if (value instanceof Document || value instanceof KeyValue
            || BSON_VALUES.contains(classOf(value))) {
            return HeapSize.of(value);
        }
        return fallback.getMemory(value);
    }

    @Override
    public void write(WriteBuffer buff, Object value) {
        if (value instanceof Document document) {
            if (writeBson(buff, DOCUMENT, (byte) 0, document)) {
                return;
            }
        } else if (BSON_VALUES.contains(classOf(value))) {
            if (writeBson(buff, VALUE, BsonEncoder.determineType(value), value)) {
                return;
            }
        } else if (value instanceof KeyValue key) {
            if (UniqueKeys.write(buff, UNIQUE_KEY, key, SCRATCH.get())) {
                return;
            }
        }
        fallback.write(buff, value);
    }

    /** False (nothing written) when BSON cannot hold a value inside. */
    private static boolean writeBson(WriteBuffer buff, byte tag, byte type, Object value) {
        ByteBuf scratch = SCRATCH.get().clear();
        try {
            if (tag == DOCUMENT) {
                BsonEncoder.encodeDocument((Document) value, scratch);
            } else {
                BsonEncoder.encodeValue(type, value, scratch);
            }
        } catch (RuntimeException unencodable) {
            return false;
        }
        int length = scratch.readableBytes();
        buff.put(tag);
        if (tag == VALUE) {
            buff.put(type);
        }
        buff.putVarInt(length);
        buff.put(scratch.array(), scratch.arrayOffset() + scratch.readerIndex(), length);
        return true;
    }

    @Override
    public Object read(ByteBuffer buff) {
        byte tag = buff.get(buff.position());
        if (tag != DOCUMENT && tag != VALUE && tag != UNIQUE_KEY) {
            return fallback.read(buff);
        }
        buff.get();
        if (tag == UNIQUE_KEY) {
            return UniqueKeys.read(buff);
        }
        byte type = tag == VALUE ? buff.get() : 0;
        int length = DataUtils.readVarInt(buff);
        ByteBuf in = Unpooled.wrappedBuffer(buff.slice(buff.position(), length));
        buff.position(buff.position() + length);
        return tag == DOCUMENT ? BsonDecoder.decodeBson(in) : BsonDecoder.decodeValue(type, in);
    }

    @Override
    public Object[] createStorage(int size) {
        return new Object[size];
    }

    private static Class<?> classOf(Object value) {
        return value == null ? Void.class : value.getClass();
    }

    /**
     * A rough size on the heap, for MVStore's page cache and its unsaved-memory count: the
     * serialized form's running average that ObjectDataType used instead starts at 10 KB a value.
     */
    static final class HeapSize {
        private HeapSize() {
        }

        static int of(Object value) {
            if (value instanceof String text) {
                return 40 + text.length();
            }
            if (value instanceof Map<?, ?> map) {
                int size = 64;
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    size += 40 + of(entry.getKey()) + of(entry.getValue());
                }
                return size;
            }
            if (value instanceof Iterable<?> values) { // lists, and unique keys (KeyValue)
                int size = 40;
                for (Object element : values) {
                    size += 8 + of(element);
                }
                return size;
            }
            if (value instanceof BinData data) {
                return 32 + data.getData().length;
            }
            return 24;
        }
    }
}
