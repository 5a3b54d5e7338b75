package cdp.mongo;

import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.regex.Pattern;

/**
 * What a query's condition on one field lets an index read: a set of values (equality, {@code
 * $in}, the first of {@code $all}), a range of one type ({@code $gt}/{@code $gte}/{@code
 * $lt}/{@code $lte}), or a string prefix (an anchored regex without options). Anything else
 * ({@code $ne}, {@code $nin}, {@code $exists}, {@code $not}, {@code $elemMatch}, arrays as values)
 * gives no constraint: the condition is still applied, to the candidates, by the full match.
 */
sealed interface Constraint {

    record Values(List<Object> values) implements Constraint {
        boolean hasNull() {
            return values.stream().anyMatch(value -> value == null);
        }
    }

    /** Values of one ordered type between two bounds (either may be null); bounds inclusive. */
    record Range(char tag, Object low, Object high) implements Constraint {
    }

    record Prefix(String text) implements Constraint {
    }

    /** The constraint a field's condition gives, or null. */
    static Constraint of(Object condition) {
        if (BsonRegularExpression.isRegularExpression(condition) || condition instanceof Pattern) {
            return prefixOf(condition);
        }
        if (condition instanceof Document operators && isOperatorDocument(operators)) {
            return fromOperators(operators);
        }
        return equalityValue(condition) ? new Values(single(condition)) : null;
    }

    /** Equality to arrays is answered by the array or by an element: not by one index key. */
    private static boolean equalityValue(Object value) {
        return !(value instanceof Collection<?>) && !(value instanceof Pattern)
            && !BsonRegularExpression.isRegularExpression(value);
    }

    private static List<Object> single(Object value) {
        List<Object> values = new ArrayList<>(1);
        values.add(value);
        return values;
    }

    private static boolean isOperatorDocument(Document document) {
        return !document.isEmpty() && document.keySet().stream().allMatch(key -> key.startsWith("$"));
    }

    private static Constraint fromOperators(Document operators) {
        if (operators.containsKey("$eq") && equalityValue(operators.get("$eq"))) {
            return new Values(single(operators.get("$eq")));
        }
        if (operators.get("$in") instanceof Collection<?> values
            && values.stream().allMatch(Constraint::equalityValue)) {
            return new Values(new ArrayList<>(values));
        }
        if (operators.get("$all") instanceof Collection<?> values && !values.isEmpty()) {
            Object first = values.iterator().next();
            if (equalityValue(first) && !(first instanceof Document)) {
                return new Values(single(first));
            }
        }
        if (operators.containsKey("$regex")) {
            return prefixOf(operators);
        }
        Object low = firstOf(operators, "$gte", "$gt");
        Object high = firstOf(operators, "$lte", "$lt");
        Object sample = low != null ? low : high;
        if (sample == null) {
            return null;
        }
        char tag = IndexKeys.tag(sample);
        if (!IndexKeys.ordered(tag) || (low != null && high != null && IndexKeys.tag(high) != tag)) {
            return null;
        }
        return new Range(tag, low, high);
    }

    private static Object firstOf(Document operators, String... names) {
        for (String name : names) {
            Object value = operators.get(name);
            if (value != null) {
                return value;
            }
        }
        return null;
    }

    private static Constraint prefixOf(Object regex) {
        String pattern;
        if (regex instanceof Pattern compiled) {
            if (compiled.flags() != 0) {
                return null;
            }
            pattern = compiled.pattern();
        } else if (regex instanceof Document document) {
            Object options = document.get("$options");
            if (options != null && !prefixSafe(options.toString())) {
                return null;
            }
            pattern = String.valueOf(document.get("$regex"));
        } else {
            BsonRegularExpression expression = BsonRegularExpression.convertToRegularExpression(regex);
            if (expression.getOptions() != null && !prefixSafe(expression.getOptions())) {
                return null;
            }
            pattern = expression.getPattern();
        }
        String prefix = literalPrefix(pattern);
        return prefix == null ? null : new Prefix(prefix);
    }

    /**
     * Options that leave a literal prefix literal: {@code u} (Unicode; Python sends it with every
     * compiled pattern) and {@code s} (dot matches newlines). Not {@code i}, {@code m} (^ after
     * any newline) or {@code x} (white space ignored).
     */
    private static boolean prefixSafe(String options) {
        return options.chars().allMatch(option -> option == 'u' || option == 's');
    }

    /**
     * The literal text an anchored pattern starts with ({@code ^abc.*} gives {@code abc}), or null
     * when it is not anchored by {@code ^} (or {@code \A}). A character made optional by the
     * quantifier after it is left out; an escaped punctuation character is literal.
     */
    static String literalPrefix(String pattern) {
        int i;
        if (pattern.startsWith("^")) {
            i = 1;
        } else if (pattern.startsWith("\\A")) {
            i = 2;
        } else {
            return null;
        }
        StringBuilder prefix = new StringBuilder();
        while (i < pattern.length()) {
            char c = pattern.charAt(i);
            int width = 1;
            char literal;
            if (c == '\\' && i + 1 < pattern.length() && !Character.isLetterOrDigit(pattern.charAt(i + 1))) {
                literal = pattern.charAt(i + 1);
                width = 2;
            } else if (".^$*+?()[]{}|\\".indexOf(c) >= 0) {
                break;
            } else {
                literal = c;
            }
            int next = i + width;
            if (next < pattern.length() && "*?{".indexOf(pattern.charAt(next)) >= 0) {
                break; // this character may be absent
            }
            if (next < pattern.length() && pattern.charAt(next) == '|') {
                return null; // ^ab|cd: an alternative that is not anchored
            }
            prefix.append(literal);
            i = next;
        }
        if (pattern.indexOf('|') >= 0) {
            return null;
        }
        return prefix.toString();
    }
}
