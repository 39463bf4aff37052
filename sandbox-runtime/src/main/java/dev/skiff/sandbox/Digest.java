package dev.skiff.sandbox;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * A content digest such as {@code sha256:9f86d0…}. Only sha256 is accepted, and only in its
 * canonical lower-case form, so a digest can safely name a file (blobs/sha256/HEX, the cache's
 * sha256/HEX) without any path trickery.
 */
record Digest(String hex) {
    private static final Pattern SHA256 = Pattern.compile("sha256:([0-9a-f]{64})");

    Digest {
        if (hex == null || !hex.matches("[0-9a-f]{64}")) throw new IllegalArgumentException("not a sha256 hex digest: " + hex);
    }

    /** Parses {@code sha256:HEX}; anything else (another algorithm, upper case, a path) is an {@link ImageException}. */
    static Digest parse(String digest, String what) throws ImageException {
        if (digest == null) throw new ImageException(what + " has no digest");
        var m = SHA256.matcher(digest);
        if (!m.matches()) {
            throw new ImageException(what + " has the digest '" + digest + "'; only sha256:<64 lower-case hex digits> is supported");
        }
        return new Digest(m.group(1));
    }

    static Digest of(byte[] content) {
        return new Digest(HexFormat.of().formatHex(sha256().digest(content)));
    }

    @Override
    public String toString() {
        return "sha256:" + hex;
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Refuses {@code content} unless it has this digest. */
    void verify(byte[] content, String what) throws ImageException {
        Digest actual = of(content);
        if (!actual.equals(this)) throw mismatch(what, actual);
    }

    ImageException mismatch(String what, Digest actual) {
        return new ImageException(what + ": content does not match its digest: expected " + this + ", got " + actual
                + " (corrupt or tampered image)");
    }

    /**
     * A stream that checks, when it reaches its end, that it had exactly {@code size} bytes (when
     * {@code size >= 0}) and this digest; reading past a mismatch throws instead of returning -1.
     */
    InputStream verifying(InputStream in, long size, String what) {
        return new Verifying(in, this, size, what);
    }

    private static final class Verifying extends FilterInputStream {
        private final Digest expected;
        private final long size;
        private final String what;
        private final MessageDigest md = sha256();
        private long count;
        private boolean verified;

        Verifying(InputStream in, Digest expected, long size, String what) {
            super(in);
            this.expected = expected;
            this.size = size;
            this.what = what;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n = super.read(b, off, len);
            if (n < 0) {
                atEnd();
                return -1;
            }
            md.update(b, off, n);
            count += n;
            if (size >= 0 && count > size) {
                throw new ImageException(what + " is larger than the " + size + " bytes its descriptor says");
            }
            return n;
        }

        private void atEnd() throws ImageException {
            if (verified) return;
            if (size >= 0 && count != size) {
                throw new ImageException(what + " is " + count + " bytes but its descriptor says " + size + " (truncated?)");
            }
            Digest actual = new Digest(HexFormat.of().formatHex(md.digest()));
            if (!actual.equals(expected)) throw expected.mismatch(what, actual);
            verified = true;
        }

        @Override
        public long skip(long n) throws IOException {
            // every byte must pass through the digest
            byte[] buf = new byte[(int) Math.min(n, 8192)];
            int r = read(buf, 0, buf.length);
            return Math.max(r, 0);
        }

        @Override
        public boolean markSupported() {
            return false;
        }
    }
}
