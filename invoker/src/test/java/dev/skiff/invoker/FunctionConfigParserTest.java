package dev.skiff.invoker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.skiff.autoscaler.ScalingConfig;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

/** func.yaml: defaults, units, and the messages a user gets for mistakes. */
class FunctionConfigParserTest {
    private static final String MINIMAL = "name: hello\nruntime: python\n";

    private static FunctionConfig parse(String yaml) throws InvalidFunctionException {
        return FunctionConfigParser.parse(yaml);
    }

    private static InvalidFunctionException refused(String yaml) {
        return assertThrows(InvalidFunctionException.class, () -> FunctionConfigParser.parse(yaml), "accepted:\n" + yaml);
    }

    @Test
    void minimalFileGetsTheDocumentedDefaults() throws Exception {
        FunctionConfig c = parse(MINIMAL);
        assertEquals(new FunctionConfig("hello", "python", "handler.handle", 128L << 20, 64, 0, 1, 10,
                Duration.ofSeconds(30), Duration.ofSeconds(300), Map.of(), false, 1000, 0,
                ScalingConfig.defaults(1, 0, 10), false), c);
    }

    @Test
    void everyKeyIsRead() throws Exception {
        FunctionConfig c = parse("""
                name: resize-image
                runtime: python
                handler: app.main
                memory: 256Mi
                pids: 128
                cpu: 1.5
                concurrency: 4
                minScale: 2
                maxScale: 20
                maxQueue: 50
                timeout: 5m
                idleTimeout: 1h
                env:
                  BUCKET: photos
                network: outbound
                auth: token
                scale:
                  target: 3
                  stableWindow: 10s
                """);
        ScalingConfig defaults = ScalingConfig.defaults(3, 2, 20);
        ScalingConfig scaling = new ScalingConfig(3, defaults.targetUtilization(), Duration.ofSeconds(10), defaults.panicWindow(),
                defaults.panicThreshold(), defaults.maxScaleUpRate(), defaults.maxScaleDownRate(), defaults.scaleToZeroGrace(),
                defaults.scaleDownDelay(), 2, 20, defaults.sampleMaxAge());
        assertEquals(new FunctionConfig("resize-image", "python", "app.main", 256L << 20, 128, 1500, 4, 20,
                Duration.ofMinutes(5), Duration.ofHours(1), Map.of("BUCKET", "photos"), true, 50, 2, scaling, true), c);
    }

    @Test
    void scaleTargetDefaultsToConcurrencyAndBoundsComeFromTheTopLevel() throws Exception {
        ScalingConfig s = parse(MINIMAL + "concurrency: 5\nminScale: 1\nmaxScale: 7\n").scaling();
        assertEquals(5.0, s.targetConcurrency());
        assertEquals(1, s.minScale());
        assertEquals(7, s.maxScale());
    }

    @Test
    void badScaleKnobsAreRefusedAtDeployByName() {
        assertTrue(refused(MINIMAL + "scale:\n  stableWindw: 10s\n").getMessage().contains("stableWindw"));
        assertTrue(refused(MINIMAL + "scale:\n  utilization: 2\n").getMessage().contains("utilization"));
        assertTrue(refused(MINIMAL + "scale:\n  panicWindow: 2m\n  stableWindow: 60s\n").getMessage().contains("panicWindow"));
        assertTrue(refused(MINIMAL + "scale: fast\n").getMessage().contains("scale"));
    }

    @ParameterizedTest
    @CsvSource({
        "64Mi, 67108864",
        "64M, 67108864",
        "64m, 67108864",
        "1Gi, 1073741824",
        "1g, 1073741824",
        "16384k, 16777216",
        "20480K, 20971520",
        "524288Ki, 536870912",
        "33554432, 33554432",
        "33554432b, 33554432",
        "'32 Mi', 33554432",
    })
    void memorySizesUnderstandBinarySuffixesAndPlainBytes(String memory, long bytes) throws Exception {
        assertEquals(bytes, parse(MINIMAL + "memory: " + memory + "\n").memoryBytes());
    }

    @ParameterizedTest
    @ValueSource(strings = {"lots", "1.5Gi", "64MB", "-64Mi", "64 Ti", "Mi"})
    void malformedSizesAreRefusedWithAnExample(String memory) {
        InvalidFunctionException e = refused(MINIMAL + "memory: " + memory + "\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("memory must be a size like 128Mi"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"15Mi", "16383k", "1024", "0"})
    void memoryBelow16MiIsRefused(String memory) {
        InvalidFunctionException e = refused(MINIMAL + "memory: " + memory + "\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("at least 16Mi"), e.getMessage());
    }

    @Test
    void exactly16MiIsEnough() throws Exception {
        assertEquals(16L << 20, parse(MINIMAL + "memory: 16Mi\n").memoryBytes());
    }

    @ParameterizedTest
    @CsvSource({
        "500ms, PT0.5S",
        "30s, PT30S",
        "5m, PT5M",
        "1h, PT1H",
        "45, PT45S",
        "'10 s', PT10S",
    })
    void durationsUnderstandSuffixesAndPlainNumbersAsSeconds(String timeout, Duration expected) throws Exception {
        assertEquals(expected, parse(MINIMAL + "timeout: " + timeout + "\n").timeout());
        assertEquals(expected, parse(MINIMAL + "idleTimeout: " + timeout + "\n").idleTimeout());
    }

    @ParameterizedTest
    @ValueSource(strings = {"soon", "5 minutes", "1d", "1.5s", "-5s"})
    void malformedDurationsAreRefusedWithAnExample(String timeout) {
        InvalidFunctionException e = refused(MINIMAL + "timeout: " + timeout + "\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("timeout must be a duration like"), e.getMessage());
    }

    @Test
    void aZeroDurationWithAUnitIsRefused() {
        InvalidFunctionException e = refused(MINIMAL + "idleTimeout: 0s\n");
        assertTrue(e.getMessage().contains("idleTimeout must be more than zero"), e.getMessage());
    }

    @Test
    void aZeroNegativeOrSubSecondPlainNumberDurationIsRefused() {
        assertTrue(refused(MINIMAL + "timeout: 0\n").getMessage().contains("more than zero"));
        refused(MINIMAL + "timeout: -5\n");
        refused(MINIMAL + "timeout: 0.5\n");
        refused(MINIMAL + "idleTimeout: 0\n");
    }

    @Test
    void absurdlyLargeSizesAndDurationsAreRefused() {
        assertEquals("invalid_func_yaml", refused(MINIMAL + "memory: 17179869185Gi\n").error());
        assertEquals("invalid_func_yaml", refused(MINIMAL + "memory: 99999999999999999999Mi\n").error());
        assertEquals("invalid_func_yaml", refused(MINIMAL + "timeout: 99999999999999999999h\n").error());
        assertEquals("invalid_func_yaml", refused(MINIMAL + "timeout: 9999999999999999h\n").error());
    }

    @Test
    void anUnknownKeyIsRefusedAndNamed() {
        InvalidFunctionException e = refused(MINIMAL + "memroy: 256Mi\n");
        assertEquals("unknown_key", e.error());
        assertTrue(e.getMessage().contains("'memroy'"), e.getMessage());
        assertTrue(e.getMessage().contains("memory"), "lists the known keys: " + e.getMessage());
    }

    @Test
    void authIsNoneOrToken() throws Exception {
        assertEquals(false, parse(MINIMAL + "auth: none\n").tokenRequired());
        assertEquals(true, parse(MINIMAL + "auth: token\n").tokenRequired());
        InvalidFunctionException e = refused(MINIMAL + "auth: basic\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("'basic'") && e.getMessage().contains("token"), e.getMessage());
        refused(MINIMAL + "auth: Token\n");
        refused(MINIMAL + "auth: [token]\n");
    }

    @Test
    void keysAreCaseSensitive() {
        InvalidFunctionException e = refused(MINIMAL + "maxscale: 3\n");
        assertEquals("unknown_key", e.error());
        assertTrue(e.getMessage().contains("'maxscale'"), e.getMessage());
    }

    @Test
    void invalidYamlIsRefused() {
        InvalidFunctionException e = refused("name: hello\nruntime: [python\n");
        assertEquals("invalid_yaml", e.error());
        assertTrue(e.getMessage().startsWith("func.yaml is not valid YAML"), e.getMessage());
    }

    @Test
    void aListInsteadOfAMappingIsRefused() {
        InvalidFunctionException e = refused("- name: hello\n- runtime: python\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("must be a mapping"), e.getMessage());
    }

    @Test
    void aBareScalarIsRefused() {
        assertEquals("invalid_func_yaml", refused("hello\n").error());
    }

    @Test
    void aMissingNameIsRefused() {
        InvalidFunctionException e = refused("runtime: python\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("no 'name'"), e.getMessage());
    }

    @Test
    void aMissingRuntimeIsRefused() {
        InvalidFunctionException e = refused("name: hello\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("no 'runtime'"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"Hello", "1abc", "a_b", "hello-", "-hello", "hello.world", "'héllo'", "'a b'"})
    void badNamesAreRefusedWithTheDnsLabelRule(String name) {
        InvalidFunctionException e = refused("name: " + name + "\nruntime: python\n");
        assertEquals("invalid_name", e.error());
        assertTrue(e.getMessage().contains("is not a valid function name") && e.getMessage().contains("DNS label"), e.getMessage());
    }

    @Test
    void a64CharacterNameIsRefused() {
        String name = "a" + "-b".repeat(31) + "c";
        assertEquals(64, name.length());
        InvalidFunctionException e = refused("name: " + name + "\nruntime: python\n");
        assertEquals("invalid_name", e.error());
        assertTrue(e.getMessage().contains("1-63"), e.getMessage());
    }

    @Test
    void a63CharacterNameIsAccepted() throws Exception {
        String name = "a" + "-b".repeat(30) + "cd";
        assertEquals(63, name.length());
        assertEquals(name, parse("name: " + name + "\nruntime: python\n").name());
    }

    @Test
    void singleLetterAndDashedNamesAreAccepted() throws Exception {
        assertEquals("a", parse("name: a\nruntime: python\n").name());
        assertEquals("my-fn-2", parse("name: my-fn-2\nruntime: python\n").name());
    }

    @Test
    void anEmptyNameIsRefused() {
        assertEquals("invalid_name", refused("name: ''\nruntime: python\n").error());
        assertTrue(FunctionConfigParser.nameProblem("").contains("empty"));
    }

    @Test
    void aMappingWhereAStringBelongsIsRefused() {
        InvalidFunctionException e = refused("name: hello\nruntime: {lang: python}\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("runtime must be a string"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"handle", "handler.", ".handle", "my-mod.handle", "handler.handle()"})
    void aHandlerMustLookLikeModuleDotFunction(String handler) {
        InvalidFunctionException e = refused(MINIMAL + "handler: '" + handler + "'\n");
        assertTrue(e.getMessage().contains("must look like module.function"), e.getMessage());
    }

    @Test
    void envValuesOfAnyScalarTypeBecomeStrings() throws Exception {
        FunctionConfig c = parse(MINIMAL + """
                env:
                  PORT: 8080
                  DEBUG: true
                  RATIO: 0.5
                  EMPTY:
                  NAME: x
                """);
        assertEquals(Map.of("PORT", "8080", "DEBUG", "true", "RATIO", "0.5", "EMPTY", "", "NAME", "x"), c.env());
    }

    @ParameterizedTest
    @ValueSource(strings = {"FN_NAME", "FN_", "1ABC", "MY-VAR", "'A B'", "'A=B'"})
    void invalidOrReservedEnvKeysAreRefused(String key) {
        InvalidFunctionException e = refused(MINIMAL + "env:\n  " + key + ": x\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains("env key"), e.getMessage());
    }

    @Test
    void envMustBeAMapping() {
        InvalidFunctionException e = refused(MINIMAL + "env: [A, B]\n");
        assertTrue(e.getMessage().contains("env must be a mapping"), e.getMessage());
    }

    @ParameterizedTest
    @CsvSource({
        "pids, 3, 4 to 4096",
        "pids, 4097, 4 to 4096",
        "concurrency, 0, 1 to 1000",
        "concurrency, 1001, 1 to 1000",
        "maxScale, 0, 1 to 1000",
        "maxScale, -1, 1 to 1000",
        "maxScale, many, 1 to 1000",
    })
    void outOfRangeIntegersAreRefusedWithTheRange(String key, String value, String range) {
        InvalidFunctionException e = refused(MINIMAL + key + ": " + value + "\n");
        assertEquals("invalid_func_yaml", e.error());
        assertTrue(e.getMessage().contains(key + " must be a whole number from " + range), e.getMessage());
        assertTrue(e.getMessage().contains("'" + value + "'"), "echoes the value: " + e.getMessage());
    }

    @Test
    void integerBoundsAreInclusive() throws Exception {
        FunctionConfig low = parse(MINIMAL + "pids: 4\nconcurrency: 1\nmaxScale: 1\n");
        assertEquals(4, low.pids());
        FunctionConfig high = parse(MINIMAL + "pids: 4096\nconcurrency: 1000\nmaxScale: 1000\n");
        assertEquals(4096, high.pids());
        assertEquals(1000, high.concurrency());
        assertEquals(1000, high.maxScale());
    }

    @Test
    void quotedIntegersAreAccepted() throws Exception {
        assertEquals(8, parse(MINIMAL + "concurrency: '8'\n").concurrency());
    }

    @Test
    void integersBeyondIntRangeAreRefusedNotWrapped() {
        assertTrue(refused(MINIMAL + "pids: 4294967360\n").getMessage().contains("4 to 4096"));
        assertTrue(refused(MINIMAL + "maxScale: 4294967297\n").getMessage().contains("1 to 1000"));
    }

    @ParameterizedTest
    @CsvSource({"0.5, 500", "2, 2000", "250m, 250", "0.01, 10"})
    void cpuIsReadAsMillicpus(String value, int millis) throws Exception {
        FunctionConfig c = parse("name: a\nruntime: python\ncpu: " + value + "\n");
        assertEquals(millis, c.cpuMillis());
        assertEquals(Math.max(1, millis / 10), c.cpuWeight());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "-1", "abc", "100", "1m", "NaN"})
    void nonsenseCpuIsRefused(String value) {
        InvalidFunctionException e = org.junit.jupiter.api.Assertions.assertThrows(InvalidFunctionException.class,
                () -> parse("name: a\nruntime: python\ncpu: " + value + "\n"));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("cpu"), e.getMessage());
    }

    @Test
    void minScaleAboveMaxScaleIsRefused() {
        InvalidFunctionException e = assertThrows(InvalidFunctionException.class,
                () -> parse("name: a\nruntime: python\nminScale: 5\nmaxScale: 2\n"));
        assertTrue(e.getMessage().contains("minScale"), e.getMessage());
    }

    @Test
    void pidsLeaveRoomForConcurrentCalls() throws Exception {
        assertEquals(80, parse(MINIMAL + "concurrency: 64\n").pids(), "left out, pids grows with concurrency");
        assertEquals(64, parse(MINIMAL + "concurrency: 4\n").pids());
        InvalidFunctionException e = assertThrows(InvalidFunctionException.class,
                () -> parse(MINIMAL + "concurrency: 64\npids: 64\n"));
        assertTrue(e.getMessage().contains("too low for concurrency 64"), e.getMessage());
    }
}
