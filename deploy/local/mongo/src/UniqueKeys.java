package cdp.mongo;

import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.WriteBuffer;

/**
 * The keys of unique indexes (the library's {@link KeyValue}: one value per indexed field): their
 * order in the index's map and their stored form.
 *
 * <p>H2's ObjectDataType orders objects that are not {@link Comparable}, as KeyValue is not, by
 * their Java-serialized bytes: each step of each lookup serialized both keys, a third of the
 * server's CPU under a write load. Here two keys compare field by field: by BSON type, then by
 * value (strings, numbers, booleans, ids and dates natively, anything else by its BSON bytes). Two
 * keys are equal exactly when each field has the same type and value, as before; only the order
 * differs, so an index map written in the old order is rebuilt once ({@link CdpDatabase}).
 *
 * <p>Stored form: the field count, then each field as its BSON type byte and BSON value; a missing
 * field (sparse and partial keys) is type 0, which BSON never uses for a value.
 */
final class UniqueKeys {
    private static final byte MISSING = 0;

    private UniqueKeys() {
    }

    static int compare(KeyValue a, KeyValue b) {
        int fields = Math.min(a.size(), b.size());
        for (int i = 0; i < fields; i++) {
            int order = compareValues(a.get(i), b.get(i));
            if (order != 0) {
                return order;
            }
        }
        return Integer.compare(a.size(), b.size());
    }

    private static int compareValues(Object a, Object b) {
        byte typeA = typeOf(a);
        byte typeB = typeOf(b);
        if (typeA != typeB) {
            return Integer.compare(typeA & 0xFF, typeB & 0xFF);
        }
        if (a instanceof String x && b instanceof String y) {
            return x.compareTo(y);
        }
        if (a instanceof Integer x && b instanceof Integer y) {
            return Integer.compare(x, y);
        }
        if (a instanceof Long x && b instanceof Long y) {
            return Long.compare(x, y);
        }
        if (a instanceof Double x && b instanceof Double y) {
            return Double.compare(x, y);
        }
        if (a instanceof Boolean x && b instanceof Boolean y) {
            return Boolean.compare(x, y);
        }
        if (a instanceof Instant x && b instanceof Instant y) {
            return x.compareTo(y);
        }
        if (a instanceof de.bwaldvogel.mongo.bson.ObjectId x
            && b instanceof de.bwaldvogel.mongo.bson.ObjectId y) {
            return x.compareTo(y);
        }
        if (typeA == MISSING || a == null || b == null) {
            return 0; // one type with a single value: missing, null, MinKey, MaxKey
        }
        return Arrays.compareUnsigned(bytes(typeA, a), bytes(typeB, b));
    }

    private static byte typeOf(Object value) {
        return value instanceof Missing ? MISSING : BsonEncoder.determineType(value);
    }

    private static byte[] bytes(byte type, Object value) {
        ByteBuf buffer = Unpooled.buffer(64);
        BsonEncoder.encodeValue(type, value, buffer);
        byte[] bytes = new byte[buffer.readableBytes()];
        buffer.readBytes(bytes);
        return bytes;
    }

    /** Writes the key after its tag; false (nothing written) when BSON cannot hold a field. */
    static boolean write(WriteBuffer buff, byte tag, KeyValue key, ByteBuf scratch) {
        scratch.clear();
        try {
            for (Object value : key) {
                byte type = typeOf(value);
                scratch.writeByte(type);
                if (type != MISSING) {
                    BsonEncoder.encodeValue(type, value, scratch);
                }
            }
        } catch (RuntimeException unencodable) {
            return false;
        }
        buff.put(tag);
        buff.putVarInt(key.size());
        buff.putVarInt(scratch.readableBytes());
        buff.put(scratch.array(), scratch.arrayOffset() + scratch.readerIndex(),
            scratch.readableBytes());
        return true;
    }

    /** Reads a key written by {@link #write}, after its tag. */
    static KeyValue read(ByteBuffer buff) {
        int fields = DataUtils.readVarInt(buff);
        int length = DataUtils.readVarInt(buff);
        ByteBuf in = Unpooled.wrappedBuffer(buff.slice(buff.position(), length));
        buff.position(buff.position() + length);
        List<Object> values = new ArrayList<>(fields);
        for (int i = 0; i < fields; i++) {
            byte type = in.readByte();
            values.add(type == MISSING ? Missing.getInstance() : BsonDecoder.decodeValue(type, in));
        }
        return new KeyValue(values);
    }
}
