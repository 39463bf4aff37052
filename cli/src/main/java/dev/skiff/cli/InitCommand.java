package dev.skiff.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** {@code fn init [--runtime RUNTIME] NAME}: creates a function folder from a template. */
final class InitCommand implements Command {
    static final String DEFAULT_RUNTIME = "python";

    private static final Pattern SHELL_SAFE = Pattern.compile("[A-Za-z0-9_./@%+=:,-]+");

    private final Templates templates;

    InitCommand(Templates templates) {
        this.templates = templates;
    }

    @Override
    public String name() {
        return "init";
    }

    @Override
    public String summary() {
        return "create a new function folder from a template";
    }

    @Override
    public String usage() {
        return "fn init [--runtime RUNTIME] NAME";
    }

    @Override
    public String details() {
        return """
                Creates the folder NAME (which may be a path like dir/hello; the function is
                named after its last part) with a func.yaml and a handler to start from.

                Options:
                  --runtime RUNTIME   template to use (default: python)

                Names are 1-63 lowercase letters, digits and '-', starting with a letter
                and not ending with '-'.""";
    }

    @Override
    public Args.Spec options() {
        return new Args.Spec().value("--runtime");
    }

    @Override
    public int run(Args args, Context ctx) throws CliException, IOException {
        String target = args.required("NAME");
        String runtime = args.value("--runtime");
        runtime = runtime == null ? DEFAULT_RUNTIME : runtime.strip();

        String display = target.length() > 1 ? target.replaceAll("/+$", "") : target;
        Path dir;
        try {
            dir = Path.of(display);
        } catch (InvalidPathException e) {
            throw new CliException("invalid path '" + target + "'");
        }
        Path last = dir.getFileName();
        String name = last == null ? display : last.toString();
        Names.check(name);

        List<String> files = templates.files(runtime);
        if (files == null) {
            List<String> known = templates.known();
            if (known.isEmpty()) {
                throw new CliException("no function templates found (is the function-templates jar on the classpath?)");
            }
            throw new CliException("unknown runtime '" + runtime + "' (known: " + String.join(", ", known) + ")");
        }
        for (String file : files) {
            if (!isSafeRelative(file)) {
                throw new CliException("template " + runtime + " is broken: bad file name '" + file + "'");
            }
        }

        if (Files.exists(dir)) {
            if (!Files.isDirectory(dir)) {
                throw new CliException(display + " already exists and is not a folder");
            }
            try (Stream<Path> entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new CliException(display + " already exists and is not empty");
                }
            }
        }

        // Read everything first so a broken template leaves nothing behind.
        byte[][] contents = new byte[files.size()][];
        for (int i = 0; i < files.size(); i++) {
            contents[i] = templates.read(runtime, files.get(i));
            if (contents[i] == null) {
                throw new CliException("template " + runtime + " is broken: " + files.get(i) + " is missing");
            }
            if (files.get(i).equals("func.yaml")) {
                contents[i] = new String(contents[i], StandardCharsets.UTF_8)
                        .replace("__NAME__", name).getBytes(StandardCharsets.UTF_8);
            }
        }

        Files.createDirectories(dir);
        for (int i = 0; i < files.size(); i++) {
            Path file = dir.resolve(files.get(i));
            Files.createDirectories(file.getParent());
            Files.write(file, contents[i]);
            if (startsWithShebang(contents[i])) {
                makeExecutable(file);
            }
        }

        ctx.out.println("Created function " + name + " in " + quote(display + "/") + " (runtime " + runtime
                + "). Deploy it with: ./fn deploy " + quote(display));
        return 0;
    }

    private static boolean isSafeRelative(String file) {
        if (file.startsWith("/") || file.contains("\\")) {
            return false;
        }
        for (String part : file.split("/")) {
            if (part.isEmpty() || part.equals(".") || part.equals("..")) {
                return false;
            }
        }
        return true;
    }

    private static boolean startsWithShebang(byte[] content) {
        return content.length >= 2 && content[0] == '#' && content[1] == '!';
    }

    /** Scripts in a template ({@code #!} first line) get the executable bits, like after {@code chmod +x}. */
    private static void makeExecutable(Path file) throws IOException {
        try {
            Set<PosixFilePermission> permissions = EnumSet.noneOf(PosixFilePermission.class);
            permissions.addAll(Files.getPosixFilePermissions(file));
            if (permissions.contains(PosixFilePermission.OWNER_READ)) {
                permissions.add(PosixFilePermission.OWNER_EXECUTE);
            }
            if (permissions.contains(PosixFilePermission.GROUP_READ)) {
                permissions.add(PosixFilePermission.GROUP_EXECUTE);
            }
            if (permissions.contains(PosixFilePermission.OTHERS_READ)) {
                permissions.add(PosixFilePermission.OTHERS_EXECUTE);
            }
            Files.setPosixFilePermissions(file, permissions);
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: nothing to do
        }
    }

    static String quote(String text) {
        return SHELL_SAFE.matcher(text).matches() ? text : "'" + text.replace("'", "'\\''") + "'";
    }
}
