package dev.skiff.gateway.auth;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * API tokens, kept as SHA-256 hashes in one JSON file ({@code <data-dir>/auth/tokens.json},
 * mode 0600, replaced atomically by a rename): id, name, scope, creation time and the hash. The
 * plaintext exists only in the answer that creates a token (and, for the first one, in the CLI's
 * credentials file); a copy of tokens.json lets nobody call the API.
 *
 * <p>Why a fast, unsalted hash is right here, where passwords would need bcrypt or argon2: a
 * token is 32 bytes from {@link SecureRandom}, 256 bits of entropy, so there is no dictionary to
 * try and no guess cheaper than 2^255 hashes on average; slowing each hash down buys nothing and
 * would cost every request. Salt only defends low-entropy secrets against precomputed tables.
 * GitHub and npm store their tokens the same way. The fixed {@value #PREFIX} prefix lets secret
 * scanners recognise a leaked token, and lets the gateway strip Skiff's tokens before a call
 * reaches a function.
 *
 * <p>Reads (every request) see an immutable snapshot without locking; changes are serialized
 * and written to disk before they take effect, so a revoked token is refused by the next request
 * and stays refused after a restart.
 */
public final class TokenStore {
    public static final String PREFIX = "skiff_";
    /** skiff_ + 32 random bytes in unpadded base64url (43 characters). */
    static final Pattern FORMAT = Pattern.compile(Pattern.quote(PREFIX) + "[A-Za-z0-9_-]{43}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}");
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final ObjectMapper JSON = new ObjectMapper();

    public enum Scope {
        /** The management API (/v1) and every function. */
        ADMIN,
        /** Calling functions, those with {@code auth: token} too; nothing else. */
        INVOKE;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }

        /** "admin" or "invoke"; empty for anything else. */
        public static Optional<Scope> parse(String s) {
            for (Scope scope : values()) if (scope.wire().equals(s)) return Optional.of(scope);
            return Optional.empty();
        }
    }

    /** What is known about a token besides its secret. */
    public record Token(String id, String name, Scope scope, Instant createdAt) {}

    /** A new token with its plaintext, which is shown once and never stored. */
    public record Created(Token token, String plaintext) {}

    public enum Revoked { REVOKED, NOT_FOUND, LAST_ADMIN }

    /** Receives the plaintext of the first token before its hash is stored (so a failure stores nothing). */
    public interface Delivery {
        void deliver(String plaintext) throws IOException;
    }

    private record Entry(Token token, byte[] sha256) {}

    private final Path file;
    private volatile List<Entry> entries;

    private TokenStore(Path file, List<Entry> entries) {
        this.file = file;
        this.entries = List.copyOf(entries);
    }

    /** Reads the store, or starts an empty one if the file does not exist. A damaged file is an error, never "no tokens". */
    public static TokenStore open(Path file) throws IOException {
        if (!Files.exists(file)) return new TokenStore(file, List.of());
        List<Entry> entries = new ArrayList<>();
        try {
            JsonNode root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
            for (JsonNode t : root.path("tokens")) {
                Scope scope = Scope.parse(t.path("scope").asText()).orElseThrow(() -> new IOException("unknown scope " + t.path("scope")));
                byte[] hash = HexFormat.of().parseHex(t.path("sha256").asText());
                if (hash.length != 32) throw new IOException("a sha256 is not 32 bytes");
                entries.add(new Entry(new Token(t.path("id").asText(), t.path("name").asText(), scope,
                        Instant.parse(t.path("createdAt").asText())), hash));
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " is damaged (" + e.getMessage() + "); restore it, or delete it to start over with a new"
                    + " admin token (every token is then gone)", e);
        }
        return new TokenStore(file, entries);
    }

    public List<Token> list() {
        return entries.stream().map(Entry::token).toList();
    }

    public boolean isEmpty() {
        return entries.isEmpty();
    }

    /** Creates a token of the scope; {@code name} is 1-64 of letters, digits and {@code . _ @ : -}. */
    public synchronized Created create(String name, Scope scope) throws IOException {
        return create(name, scope, plaintext -> {});
    }

    /**
     * The first start's admin token: created only when there is no token at all, handed to
     * {@code delivery} (the CLI's credentials file) and then stored. Empty when tokens exist.
     */
    public synchronized Optional<Token> createFirstAdmin(String name, Delivery delivery) throws IOException {
        if (!entries.isEmpty()) return Optional.empty();
        return Optional.of(create(name, Scope.ADMIN, delivery).token());
    }

    private Created create(String name, Scope scope, Delivery delivery) throws IOException {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("a token name is 1 to 64 letters, digits and . _ @ : - starting with a letter or digit, got '"
                    + name + "'");
        }
        byte[] secret = new byte[32];
        RANDOM.nextBytes(secret);
        String plaintext = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        Token token = new Token(newId(), name, scope, Instant.now());
        delivery.deliver(plaintext);
        List<Entry> next = new ArrayList<>(entries);
        next.add(new Entry(token, sha256(plaintext)));
        save(next);
        return new Created(token, plaintext);
    }

    /** Revokes at once; the last admin token cannot go, or nobody could manage Skiff any more. */
    public synchronized Revoked revoke(String id) throws IOException {
        Entry target = entries.stream().filter(e -> e.token().id().equals(id)).findFirst().orElse(null);
        if (target == null) return Revoked.NOT_FOUND;
        if (target.token().scope() == Scope.ADMIN && entries.stream().filter(e -> e.token().scope() == Scope.ADMIN).count() == 1) {
            return Revoked.LAST_ADMIN;
        }
        List<Entry> next = new ArrayList<>(entries);
        next.remove(target);
        save(next);
        return Revoked.REVOKED;
    }

    /**
     * The token whose hash matches. Every stored hash is compared, each with
     * {@link MessageDigest#isEqual} (constant time), and the loop never stops early, so the time
     * taken says nothing about which hash, or how much of one, matched.
     */
    public Optional<Token> find(String plaintext) {
        if (plaintext == null || !FORMAT.matcher(plaintext).matches()) return Optional.empty();
        byte[] hash = sha256(plaintext);
        Token found = null;
        for (Entry e : entries) {
            if (MessageDigest.isEqual(e.sha256(), hash)) found = e.token();
        }
        return Optional.ofNullable(found);
    }

    private void save(List<Entry> next) throws IOException {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", 1);
        root.put("note", "SHA-256 hashes of Skiff's API tokens; the tokens themselves are not stored anywhere by Skiff");
        ArrayNode tokens = root.putArray("tokens");
        for (Entry e : next) {
            tokens.addObject()
                    .put("id", e.token().id())
                    .put("name", e.token().name())
                    .put("scope", e.token().scope().wire())
                    .put("createdAt", e.token().createdAt().toString())
                    .put("sha256", HexFormat.of().formatHex(e.sha256()));
        }
        writePrivately(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
        entries = List.copyOf(next);
    }

    private String newId() {
        while (true) {
            byte[] b = new byte[6];
            RANDOM.nextBytes(b);
            String id = "tok_" + HexFormat.of().formatHex(b);
            if (entries.stream().noneMatch(e -> e.token().id().equals(id))) return id;
        }
    }

    static byte[] sha256(String plaintext) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(plaintext.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    /**
     * Writes a file only its owner may read: a temporary file created with mode 0600 in the same
     * directory (never readable by others, not even for a moment), flushed to disk, then renamed
     * over the old one, so a crash leaves the old content or the new, never half. Directories it
     * has to create get mode 0700.
     */
    static void writePrivately(Path file, String content) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        Path tmp = Files.createTempFile(dir, "." + file.getFileName(), ".tmp",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                java.nio.ByteBuffer bytes = java.nio.ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8));
                while (bytes.hasRemaining()) ch.write(bytes);
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
