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
 *
 * <p>Several gateways share their tokens (the mechanism, Kafka, lives in the server's
 * {@code TokenCatalog}); this class offers it a narrow interface: a {@link Listener} told of every
 * token created or revoked through this store, {@link #learn} for a token another gateway made
 * (kept in memory only, never in this node's file) and {@link #forget} for one revoked elsewhere
 * (this node's own tokens leave the file too). Lookups and the last-admin rule cover both kinds.
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

    /** A token as gateways share it: everything but the plaintext, with its SHA-256 hash in hex. */
    public record Hashed(Token token, String sha256) {}

    /**
     * Told of changes made through this store ({@link #create}, {@link #revoke}), after they are
     * saved and while the store is locked: an implementation only takes note (it must not block,
     * nor call back into the store). Not told of {@link #learn} and {@link #forget}.
     */
    public interface Listener {
        void created(Hashed token);

        void revoked(String id);
    }

    /** {@code local}: created on this node and kept in its file; otherwise learned from another gateway, in memory only. */
    private record Entry(Token token, byte[] sha256, boolean local) {
        Hashed hashed() {
            return new Hashed(token, HexFormat.of().formatHex(sha256));
        }
    }

    private final Path file;
    private volatile List<Entry> entries;
    private volatile Listener listener = new Listener() {
        @Override
        public void created(Hashed token) {}

        @Override
        public void revoked(String id) {}
    };

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
                        Instant.parse(t.path("createdAt").asText())), hash, true));
            }
        } catch (IOException | RuntimeException e) {
            throw new IOException(file + " is damaged (" + e.getMessage() + "); restore it, or delete it to start over with a new"
                    + " admin token (every token is then gone)", e);
        }
        return new TokenStore(file, entries);
    }

    /** Every token: this node's and those learned from other gateways. */
    public List<Token> list() {
        return entries.stream().map(Entry::token).toList();
    }

    /** This node's own tokens (those in its file), as they are shared. */
    public List<Hashed> locals() {
        return entries.stream().filter(Entry::local).map(Entry::hashed).toList();
    }

    /** This node's own token with that id, as it is shared; empty for a learned or unknown one. */
    public Optional<Hashed> local(String id) {
        return entries.stream().filter(e -> e.local() && e.token().id().equals(id)).map(Entry::hashed).findFirst();
    }

    /** Replaces the listener (one at a time). */
    public void listen(Listener listener) {
        this.listener = java.util.Objects.requireNonNull(listener);
    }

    /**
     * A token another gateway made (or changed): kept in memory, never written to this node's
     * file. Ignored when this node has a token of that id itself. True if anything changed.
     *
     * @throws IllegalArgumentException for a hash that is not 64 hex digits
     */
    public synchronized boolean learn(Hashed remote) {
        byte[] hash;
        try {
            hash = HexFormat.of().parseHex(remote.sha256());
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("a sha256 is not hex: " + e.getMessage(), e);
        }
        if (hash.length != 32) throw new IllegalArgumentException("a sha256 is not 32 bytes");
        Token t = remote.token();
        if (t == null || t.id() == null || t.id().isEmpty() || t.name() == null || t.scope() == null || t.createdAt() == null) {
            throw new IllegalArgumentException("a token needs an id, name, scope and creation time");
        }
        List<Entry> next = new ArrayList<>(entries.size() + 1);
        for (Entry e : entries) {
            if (!e.token().id().equals(t.id())) {
                next.add(e);
            } else if (e.local() || (e.token().equals(t) && MessageDigest.isEqual(e.sha256(), hash))) {
                return false;
            }
        }
        next.add(new Entry(t, hash, false));
        entries = List.copyOf(next);
        return true;
    }

    /**
     * A token revoked on another gateway: refused from now on. One of this node's own leaves its
     * file too (if that write fails, the token is refused anyway and the error thrown). The
     * last-admin rule is not applied (the gateway that revoked it applied it). True if there was
     * such a token.
     */
    public synchronized boolean forget(String id) throws IOException {
        Entry target = entries.stream().filter(e -> e.token().id().equals(id)).findFirst().orElse(null);
        if (target == null) return false;
        List<Entry> next = new ArrayList<>(entries);
        next.remove(target);
        try {
            if (target.local()) save(next);
        } finally {
            // Refused at once even if the file could not be written: the next start reads the revocation again.
            entries = List.copyOf(next);
        }
        return true;
    }

    /** No token at all (this node's or learned). */
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
        Entry entry = new Entry(token, sha256(plaintext), true);
        next.add(entry);
        save(next);
        listener.created(entry.hashed());
        return new Created(token, plaintext);
    }

    /**
     * Revokes at once, this node's token or one learned from another gateway; the last admin
     * token (counting both kinds) cannot go, or nobody could manage Skiff any more.
     */
    public synchronized Revoked revoke(String id) throws IOException {
        Entry target = entries.stream().filter(e -> e.token().id().equals(id)).findFirst().orElse(null);
        if (target == null) return Revoked.NOT_FOUND;
        if (target.token().scope() == Scope.ADMIN && entries.stream().filter(e -> e.token().scope() == Scope.ADMIN).count() == 1) {
            return Revoked.LAST_ADMIN;
        }
        List<Entry> next = new ArrayList<>(entries);
        next.remove(target);
        if (target.local()) save(next);
        else entries = List.copyOf(next);
        listener.revoked(id);
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
            if (!e.local()) continue; // learned from another gateway: rebuilt from the shared topic at start
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
