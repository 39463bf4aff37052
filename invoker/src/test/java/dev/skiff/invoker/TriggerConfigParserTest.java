package dev.skiff.invoker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** func.yaml triggers: defaults, and the messages a user gets for mistakes. */
class TriggerConfigParserTest {
    private static final String HEAD = "name: shop\nruntime: python\n";

    private static List<TriggerConfig> parse(String triggers) throws InvalidFunctionException {
        return FunctionConfigParser.parse(HEAD + triggers).triggers();
    }

    private static InvalidFunctionException refused(String triggers) {
        return assertThrows(InvalidFunctionException.class, () -> FunctionConfigParser.parse(HEAD + triggers), "accepted:\n" + triggers);
    }

    @Test
    void noTriggersIsAnEmptyList() throws Exception {
        assertEquals(List.of(), parse(""));
    }

    @Test
    void aBareTopicGetsTheDocumentedDefaults() throws Exception {
        TriggerConfig t = parse("triggers:\n  - topic: orders\n").get(0);
        assertEquals(new TriggerConfig("orders", List.of("orders"), "skiff-trigger-shop-orders", TriggerConfig.StartFrom.LATEST,
                TriggerConfig.Ordering.PARTITION, 8, "/", TriggerConfig.Retry.DEFAULT, "skiff.dlq.shop", null, false, 100, 1), t);
        assertTrue(t.retry().retries(500) && t.retry().retries(429) && t.retry().retries(504));
        assertTrue(!t.retry().retries(404) && !t.retry().retries(200));
    }

    @Test
    void everyKeyIsRead() throws Exception {
        TriggerConfig t = parse("""
                triggers:
                  - topics: [a, b.c]
                    name: both
                    group: g1
                    startFrom: earliest
                    ordering: key
                    concurrency: 3
                    path: /hook
                    retry: {maxAttempts: 2, backoff: 50ms, maxBackoff: 200ms, on: [4xx]}
                    deadLetterTopic: dead
                    resultTopic: out
                    exactlyOnce: true
                    lagThreshold: 50
                    batchSize: 100
                """).get(0);
        assertEquals(new TriggerConfig("both", List.of("a", "b.c"), "g1", TriggerConfig.StartFrom.EARLIEST, TriggerConfig.Ordering.KEY, 3,
                "/hook", new TriggerConfig.Retry(2, Duration.ofMillis(50), Duration.ofMillis(200), Set.of(TriggerConfig.RetryOn.CLIENT_ERROR)),
                "dead", "out", true, 50, 100), t);
        assertTrue(t.retry().retries(404) && !t.retry().retries(500));
    }

    @Test
    void anUnknownKeyIsNamed() {
        InvalidFunctionException e = refused("triggers:\n  - topic: a\n    partitions: 3\n");
        assertEquals("unknown_key", e.error());
        assertTrue(e.getMessage().contains("'partitions'") && e.getMessage().contains("ordering"), e.getMessage());
        e = refused("triggers:\n  - topic: a\n    retry: {attempts: 3}\n");
        assertTrue(e.getMessage().contains("'attempts'") && e.getMessage().contains("maxAttempts"), e.getMessage());
    }

    @Test
    void exactlyOnceNeedsAResultTopic() {
        assertTrue(refused("triggers:\n  - topic: a\n    exactlyOnce: true\n").getMessage().contains("resultTopic"));
    }

    @Test
    void aBadOrderingNamesTheChoices() {
        String m = refused("triggers:\n  - topic: a\n    ordering: fifo\n").getMessage();
        assertTrue(m.contains("partition, key, none") && m.contains("fifo"), m);
    }

    @Test
    void topicAndTopicsTogetherOrNeitherAreRefused() {
        assertTrue(refused("triggers:\n  - topic: a\n    topics: [b]\n").getMessage().contains("both"));
        assertTrue(refused("triggers:\n  - name: x\n").getMessage().contains("topic"));
        assertTrue(refused("triggers:\n  - topics: []\n").getMessage().contains("non-empty"));
    }

    @Test
    void triggerNamesAreUniqueWithinAFunction() {
        String m = refused("triggers:\n  - topic: a\n  - topic: a\n    path: /x\n").getMessage();
        assertTrue(m.contains("'a'") && m.contains("distinct"), m);
        // Distinct topics with the same explicit name clash too.
        assertTrue(refused("triggers:\n  - {topic: a, name: n}\n  - {topic: b, name: n}\n").getMessage().contains("'n'"));
        assertEquals(2, assertDoesNotThrow("triggers:\n  - {topic: a}\n  - {topic: a, name: second}\n").size());
    }

    private static List<TriggerConfig> assertDoesNotThrow(String yaml) {
        try {
            return parse(yaml);
        } catch (InvalidFunctionException e) {
            throw new AssertionError(e.getMessage(), e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"'has space'", "'a/b'", "'.'", "'..'", "'ü'", "''"})
    void topicNamesFollowKafkasRules(String bad) {
        String m = refused("triggers:\n  - topic: " + bad + "\n").getMessage();
        assertTrue(m.contains("not a valid Kafka topic name"), m);
        refused("triggers:\n  - topic: ok\n    deadLetterTopic: " + bad + "\n");
    }

    @Test
    void aTopicOf249CharactersIsFineAnd250IsNot() throws Exception {
        assertEquals("x".repeat(249), parse("triggers:\n  - {topic: " + "x".repeat(249) + ", name: long}\n").get(0).topics().get(0));
        refused("triggers:\n  - {topic: " + "x".repeat(250) + ", name: long}\n");
    }

    @Test
    void otherMistakes() {
        assertTrue(refused("triggers: {topic: a}\n").getMessage().contains("list"));
        assertTrue(refused("triggers:\n  - topic: a\n    startFrom: beginning\n").getMessage().contains("latest, earliest"));
        assertTrue(refused("triggers:\n  - topic: a\n    retry: {on: [5xx, 3xx]}\n").getMessage().contains("3xx"));
        assertTrue(refused("triggers:\n  - topic: a\n    concurrency: 0\n").getMessage().contains("concurrency"));
        assertTrue(refused("triggers:\n  - topic: a\n    batchSize: 1001\n").getMessage().contains("batchSize"));
        assertTrue(refused("triggers:\n  - topic: a\n    path: nohash\n").getMessage().contains("path"));
        assertTrue(refused("triggers:\n  - topic: a\n    deadLetterTopic: a\n").getMessage().contains("feed itself"));
        assertTrue(refused("triggers:\n  - topic: a\n    exactlyOnce: maybe\n").getMessage().contains("true or false"));
    }

    @Test
    void noResultTopicMeansNone() throws Exception {
        assertNull(parse("triggers:\n  - topic: a\n").get(0).resultTopic());
    }
}
