package dev.skiff.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** Help, usage errors and argument parsing. */
class FnTest {

    @Test
    void helpListsCommands() {
        for (String[] args : List.of(new String[] {"--help"}, new String[] {"help"}, new String[] {"-h"})) {
            FnRunner.Result r = FnRunner.run(args);
            assertEquals(0, r.code());
            for (String command : List.of("init", "deploy", "invoke", "list", "describe", "delete", "versions", "rollback", "logs", "up")) {
                assertTrue(r.out().contains("\n  " + command + " "), command + " in\n" + r.out());
            }
        }
    }

    @Test
    void commandHelpShowsUsage() {
        FnRunner.Result r = FnRunner.run("deploy", "--help");
        assertEquals(0, r.code());
        assertTrue(r.out().startsWith("usage: fn deploy [DIR]\n"), r.out());

        assertEquals(r.out(), FnRunner.run("help", "deploy").out());
        assertTrue(FnRunner.run("invoke", "-h").out().startsWith("usage: fn invoke NAME"));
    }

    @Test
    void noArgumentsIsUsageError() {
        FnRunner.Result r = FnRunner.run();
        assertEquals(2, r.code());
        assertTrue(r.err().startsWith("usage: fn "), r.err());
    }

    @Test
    void unknownCommand() {
        FnRunner.Result r = FnRunner.run("frobnicate");
        assertEquals(2, r.code());
        assertEquals("fn: unknown command 'frobnicate' (see ./fn --help)\nusage: fn [--gateway URL] [--token TOKEN] <command> [arguments]\n",
                r.err());
    }

    @Test
    void unknownOptionAndExtraArgument() {
        FnRunner.Result r = FnRunner.run("list", "--verbose");
        assertEquals(2, r.code());
        assertEquals("fn: unknown option --verbose\nusage: fn list\n", r.err());

        r = FnRunner.run("delete", "a", "b");
        assertEquals(2, r.code());
        assertEquals("fn: unexpected argument 'b'\nusage: fn delete NAME\n", r.err());
    }

    @Test
    void upIsForTheScript() {
        FnRunner.Result r = FnRunner.run("up");
        assertEquals(1, r.code());
        assertTrue(r.err().contains("./fn up"), r.err());
    }

    @Test
    void argsParserForms() throws CliException {
        Args.Spec spec = new Args.Spec().value("--data", "-d").value("--method", "-X").value("--header", "-H")
                .flag("--help", "-h");
        Args args = Args.parse(List.of("hello", "-XPOST", "--data=a=b", "-H", "A: 1", "-H", "B: 2", "--", "-h"), spec);
        assertEquals("POST", args.value("--method"));
        assertEquals("a=b", args.value("--data"));
        assertEquals(List.of("A: 1", "B: 2"), args.values("--header"));
        assertEquals(List.of("hello", "-h"), args.positionals());
        assertTrue(!args.has("--help"));
    }
}
