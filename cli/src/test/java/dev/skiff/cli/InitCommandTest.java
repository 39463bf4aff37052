package dev.skiff.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Uses the real python template from the function-templates module on the classpath. */
class InitCommandTest {

    @TempDir
    Path tmp;

    @Test
    void createsFunctionFromPythonTemplate() throws IOException {
        Path dir = tmp.resolve("hello");
        FnRunner.Result r = FnRunner.run("init", "--runtime", "python", dir.toString());

        assertEquals(0, r.code(), r.toString());
        assertEquals("", r.err());
        assertEquals("Created function hello in " + dir + "/ (runtime python). Deploy it with: ./fn deploy " + dir
                + "\n", r.out());
        String funcYaml = Files.readString(dir.resolve("func.yaml"));
        assertFalse(funcYaml.contains("__NAME__"), funcYaml);
        JsonNode yaml = new YAMLMapper().readTree(funcYaml);
        assertEquals("hello", yaml.get("name").asText());
        assertTrue(Files.isRegularFile(dir.resolve("handler.py")));
    }

    @Test
    void createsAFunctionFromAnImageAsAFuncYamlAlone() throws IOException {
        Path dir = tmp.resolve("boxed");
        FnRunner.Result r = FnRunner.run("init", "--runtime", "image", dir.toString());

        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("Created function boxed in " + dir + "/ (runtime image)"), r.out());
        JsonNode yaml = new YAMLMapper().readTree(dir.resolve("func.yaml").toFile());
        assertEquals("boxed", yaml.get("name").asText());
        assertEquals("/srv/images/boxed.tar", yaml.get("image").asText());
        assertTrue(yaml.get("runtime") == null, "an image brings its own runtime");
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "only func.yaml");
        }
    }

    @Test
    void runtimeDefaultsToPythonAndNameIsLastPathElement() throws IOException {
        Path dir = tmp.resolve("some/nested/resize-image");
        FnRunner.Result r = FnRunner.run("init", dir.toString() + "/");

        assertEquals(0, r.code(), r.toString());
        assertTrue(r.out().startsWith("Created function resize-image in " + dir + "/ (runtime python)"), r.out());
        assertEquals("resize-image", new YAMLMapper().readTree(dir.resolve("func.yaml").toFile()).get("name").asText());
    }

    @Test
    void acceptsRuntimeWithEqualsAndEmptyExistingFolder() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("empty"));
        FnRunner.Result r = FnRunner.run("init", dir.toString(), "--runtime=python");
        assertEquals(0, r.code(), r.toString());
        assertTrue(Files.exists(dir.resolve("func.yaml")));
    }

    @ParameterizedTest
    @ValueSource(strings = {"Hello", "1abc", "a_b", "-a", "a-", "hello.world", "hello world",
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    void rejectsBadNames(String name) {
        FnRunner.Result r = FnRunner.run("init", tmp.resolve(name).toString());

        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().startsWith("fn: invalid function name '" + name + "'"), r.err());
        assertTrue(r.err().contains("lowercase letters, digits and '-'"), r.err());
        assertFalse(Files.exists(tmp.resolve(name)));
    }

    @Test
    void acceptsLongestValidName() {
        String name = "a".repeat(63);
        assertEquals(0, FnRunner.run("init", tmp.resolve(name).toString()).code());
    }

    @Test
    void refusesNonEmptyFolder() throws IOException {
        Path dir = Files.createDirectories(tmp.resolve("hello"));
        Files.writeString(dir.resolve("notes.txt"), "mine");

        FnRunner.Result r = FnRunner.run("init", dir.toString());

        assertEquals(1, r.code(), r.toString());
        assertEquals("fn: " + dir + " already exists and is not empty\n", r.err());
        assertFalse(Files.exists(dir.resolve("func.yaml")));
    }

    @Test
    void unknownRuntimeListsKnownOnes() {
        FnRunner.Result r = FnRunner.run("init", "--runtime", "cobol", tmp.resolve("hello").toString());

        assertEquals(1, r.code(), r.toString());
        assertTrue(r.err().startsWith("fn: unknown runtime 'cobol' (known: "), r.err());
        assertTrue(r.err().contains("python"), r.err());
        assertFalse(Files.exists(tmp.resolve("hello")));
    }

    @Test
    void missingNameIsUsageError() {
        FnRunner.Result r = FnRunner.run("init");

        assertEquals(2, r.code());
        assertEquals("fn: missing NAME\nusage: fn init [--runtime RUNTIME] NAME\n", r.err());
    }

    @Test
    void runtimeOptionNeedsValue() {
        FnRunner.Result r = FnRunner.run("init", "hello", "--runtime");
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("fn: option --runtime needs a value\n"), r.err());
    }
}
