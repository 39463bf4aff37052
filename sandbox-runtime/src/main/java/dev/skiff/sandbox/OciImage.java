package dev.skiff.sandbox;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.commons.compress.compressors.gzip.GzipCompressorInputStream;

/**
 * Reads an image: an OCI image layout (a directory with oci-layout, index.json and blobs/), the
 * same packed as a tar, or a {@code docker save} archive (manifest.json naming a config and layer
 * tars; packed or unpacked). It reads and checks the metadata when opened; layers are read on
 * demand, as uncompressed tar streams that check their digests when they reach their end.
 *
 * <p>Checks: every blob named by digest must hash to that digest (and have its descriptor's
 * size); each layer's uncompressed content must hash to the config's {@code rootfs.diff_ids}
 * entry (for a {@code docker save} archive, whose layer files carry no digest, this is the only
 * check, so it is required). An index with several images gives the one for this host's
 * platform (linux/amd64 here); one level of nested index is followed.
 */
public final class OciImage implements AutoCloseable {
    public enum Format { OCI_LAYOUT, DOCKER_ARCHIVE }

    /**
     * One layer, bottom first. {@code digest} is its blob's digest (null for a {@code docker
     * save} layer file, which has none); {@code diffId} the digest of its uncompressed tar (null
     * if the config lists none); {@code size} its blob's size, or -1 if unknown.
     */
    public record Layer(String path, String digest, String diffId, long size, String mediaType) {}

    static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
    static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
    static final String DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
    static final String DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json";
    private static final Set<String> MANIFESTS = Set.of(OCI_MANIFEST, DOCKER_MANIFEST);
    private static final Set<String> INDEXES = Set.of(OCI_INDEX, DOCKER_LIST);
    private static final int MAX_JSON = 8 << 20;
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern BLOB_PATH = Pattern.compile("(?:\\./)?(?:blobs/sha256/)?([0-9a-f]{64})(?:\\.json)?");

    private final Path source;
    private final ImageFiles files;
    private final Format format;
    private final Digest id;
    private final Digest configDigest;
    private final ImageConfig config;
    private final String platform;
    private final List<Layer> layers;

    private OciImage(Path source, ImageFiles files, Format format, Digest id, Digest configDigest, JsonNode configJson,
            List<Layer> layers) throws ImageException {
        this.source = source;
        this.files = files;
        this.format = format;
        this.id = id;
        this.configDigest = configDigest;
        this.config = parseConfig(configJson.path("config"));
        this.layers = List.copyOf(layers);
        String os = text(configJson, "os");
        String arch = text(configJson, "architecture");
        this.platform = (os == null ? "?" : os) + "/" + (arch == null ? "?" : arch);
        if (os != null && !os.equals("linux")) throw new ImageException("image " + source + " is for " + platform + ", not linux");
        if (arch != null && !arch.equals(hostArchitecture())) {
            throw new ImageException("image " + source + " is for " + platform + ", but this host is linux/" + hostArchitecture());
        }
    }

    /** Opens an image directory or tar. Fails with an {@link ImageException} that says what is wrong with it. */
    public static OciImage open(Path image) throws IOException {
        ImageFiles files = ImageFiles.open(image);
        try {
            if (files.exists("oci-layout") && files.exists("index.json")) return readLayout(image, files);
            if (files.exists("manifest.json")) return readDockerArchive(image, files);
            throw new ImageException(image + " is not an image: it has neither oci-layout + index.json (OCI image layout)"
                    + " nor manifest.json (docker save)");
        } catch (IOException | RuntimeException e) {
            files.close();
            if (e instanceof ImageException ie && ie.getMessage().contains(image.toString())) throw ie;
            if (!(e instanceof IOException io)) throw e;
            String how = e instanceof ImageException ? "" : "cannot read it: ";
            throw new ImageException("image " + image + ": " + how + io.getMessage(), io);
        }
    }

    public Path source() {
        return source;
    }

    public Format format() {
        return format;
    }

    /**
     * What the image is called in a content-addressed store: the manifest's digest, or for a
     * {@code docker save} archive without a manifest blob, the config's digest (Docker's image ID,
     * which fixes the layers through their diff_ids). {@code sha256:HEX}.
     */
    public String id() {
        return id.toString();
    }

    public String configDigest() {
        return configDigest.toString();
    }

    public ImageConfig config() {
        return config;
    }

    /** os/architecture as the config says. */
    public String platform() {
        return platform;
    }

    public List<Layer> layers() {
        return layers;
    }

    /**
     * Layer {@code index} (0 is the bottom) as an uncompressed tar stream. Reading it to its end
     * checks its digests; a mismatch is an {@link ImageException} from read, never a silent -1.
     */
    public InputStream openLayer(int index) throws IOException {
        Layer layer = layers.get(index);
        String what = "image " + source + ": layer " + (index + 1) + " of " + layers.size() + " (" + layer.path() + ")";
        InputStream raw = files.open(layer.path());
        InputStream blob = layer.digest() == null ? raw : Digest.parse(layer.digest(), what).verifying(raw, layer.size(), what);
        BufferedInputStream buffered = new BufferedInputStream(blob, 1 << 16);
        buffered.mark(8);
        byte[] magic = buffered.readNBytes(6);
        buffered.reset();
        InputStream tar;
        if (startsWith(magic, 0x1f, 0x8b)) {
            tar = new GzipCompressorInputStream(buffered, true);
        } else if (startsWith(magic, 0x28, 0xb5, 0x2f, 0xfd)) {
            buffered.close();
            throw new ImageException(what + " is zstd-compressed, which is not supported (gzip and plain tar are)");
        } else if (startsWith(magic, 0xfd, '7', 'z', 'X', 'Z', 0) || startsWith(magic, 'B', 'Z', 'h')) {
            buffered.close();
            throw new ImageException(what + " is xz- or bzip2-compressed, which is not supported (gzip and plain tar are)");
        } else {
            tar = buffered;
        }
        InputStream checked = layer.diffId() == null ? tar
                : Digest.parse(layer.diffId(), what + " diff_id").verifying(tar, -1, what + " (uncompressed)");
        return new FilterInputStream(checked) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                int n = super.read(b, off, len);
                // after the tar's end, the rest of the blob must still pass its digest check
                if (n < 0) buffered.transferTo(OutputStream.nullOutputStream());
                return n;
            }

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }
        };
    }

    @Override
    public void close() throws IOException {
        files.close();
    }

    // --- OCI image layout ------------------------------------------------------------------

    private static OciImage readLayout(Path image, ImageFiles files) throws IOException {
        JsonNode layout = json(files.read("oci-layout", MAX_JSON), "oci-layout");
        if (text(layout, "imageLayoutVersion") == null) throw new ImageException(image + ": oci-layout has no imageLayoutVersion");
        JsonNode index = json(files.read("index.json", MAX_JSON), "index.json");
        JsonNode desc = pickManifest(files, index, "index.json", true);
        String type = text(desc, "mediaType");
        Digest manifestDigest = Digest.parse(text(desc, "digest"), "the manifest");
        byte[] manifestBytes = blob(files, desc, "the manifest");
        JsonNode manifest = json(manifestBytes, "the manifest " + manifestDigest);
        String declared = text(manifest, "mediaType");
        if (declared != null) type = declared;
        if (type != null && !MANIFESTS.contains(type)) {
            throw new ImageException("the manifest " + manifestDigest + " has the media type " + type + "; expected " + OCI_MANIFEST);
        }
        if (manifest.path("schemaVersion").asInt() != 2) throw new ImageException("the manifest " + manifestDigest + " is not schemaVersion 2");
        JsonNode configDesc = manifest.path("config");
        Digest configDigest = Digest.parse(text(configDesc, "digest"), "the image config");
        JsonNode config = json(blob(files, configDesc, "the image config"), "the image config " + configDigest);

        JsonNode layerDescs = manifest.path("layers");
        if (!layerDescs.isArray()) throw new ImageException("the manifest " + manifestDigest + " has no layers list");
        List<String> diffIds = diffIds(config, layerDescs.size(), false);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < layerDescs.size(); i++) {
            JsonNode d = layerDescs.get(i);
            Digest digest = Digest.parse(text(d, "digest"), "layer " + (i + 1));
            layers.add(new Layer(blobPath(digest), digest.toString(), diffIds == null ? null : diffIds.get(i),
                    d.path("size").asLong(-1), text(d, "mediaType")));
        }
        return new OciImage(image, files, Format.OCI_LAYOUT, manifestDigest, configDigest, config, layers);
    }

    /** The descriptor of the image for this platform; follows one nested index when allowed. */
    private static JsonNode pickManifest(ImageFiles files, JsonNode index, String what, boolean nestedAllowed) throws IOException {
        JsonNode manifests = index.path("manifests");
        if (!manifests.isArray() || manifests.isEmpty()) throw new ImageException(what + " lists no manifests");
        String want = "linux/" + hostArchitecture();
        JsonNode exact = null;
        JsonNode unspecified = null;
        List<String> seen = new ArrayList<>();
        for (JsonNode d : manifests) {
            String type = text(d, "mediaType");
            if (type != null && !MANIFESTS.contains(type) && !INDEXES.contains(type)) continue; // an artifact, not an image
            JsonNode p = d.path("platform");
            if (p.isObject()) {
                String platform = text(p, "os") + "/" + text(p, "architecture");
                seen.add(platform);
                if (platform.equals(want) && exact == null) exact = d;
            } else if (unspecified == null) {
                unspecified = d;
            }
        }
        JsonNode chosen = exact != null ? exact : unspecified;
        if (chosen == null) throw new ImageException(what + " has no image for " + want + "; it has " + seen);
        if (INDEXES.contains(text(chosen, "mediaType"))) {
            if (!nestedAllowed) throw new ImageException(what + " nests indexes more than one level deep");
            Digest digest = Digest.parse(text(chosen, "digest"), "the nested index");
            JsonNode nested = json(blob(files, chosen, "the nested index"), "the nested index " + digest);
            return pickManifest(files, nested, "the nested index " + digest, false);
        }
        return chosen;
    }

    /** A small blob named by a descriptor, checked against its digest and size. */
    private static byte[] blob(ImageFiles files, JsonNode desc, String what) throws IOException {
        Digest digest = Digest.parse(text(desc, "digest"), what);
        String path = blobPath(digest);
        if (!files.exists(path)) throw new ImageException(what + " (" + digest + ") is missing: no " + path);
        byte[] bytes = files.read(path, MAX_JSON);
        long size = desc.path("size").asLong(-1);
        if (size >= 0 && bytes.length != size) {
            throw new ImageException(what + " (" + digest + ") is " + bytes.length + " bytes but its descriptor says " + size);
        }
        digest.verify(bytes, what);
        return bytes;
    }

    private static String blobPath(Digest d) {
        return "blobs/sha256/" + d.hex();
    }

    // --- docker save ----------------------------------------------------------------------

    private static OciImage readDockerArchive(Path image, ImageFiles files) throws IOException {
        JsonNode manifest = json(files.read("manifest.json", MAX_JSON), "manifest.json");
        if (!manifest.isArray() || manifest.isEmpty()) throw new ImageException("manifest.json lists no image");
        if (manifest.size() > 1) {
            throw new ImageException("manifest.json lists " + manifest.size() + " images; save one image per archive");
        }
        JsonNode entry = manifest.get(0);
        String configPath = text(entry, "Config");
        if (configPath == null) throw new ImageException("manifest.json names no Config");
        byte[] configBytes = files.read(ImageFiles.clean(configPath), MAX_JSON);
        Digest configDigest = Digest.of(configBytes);
        Matcher m = BLOB_PATH.matcher(configPath);
        if (m.matches()) new Digest(m.group(1)).verify(configBytes, "the image config " + configPath);
        JsonNode config = json(configBytes, "the image config " + configPath);

        JsonNode paths = entry.path("Layers");
        if (!paths.isArray()) throw new ImageException("manifest.json has no Layers list");
        // Layer files of docker save carry no digest of their own: the config's diff_ids are the only check.
        List<String> diffIds = diffIds(config, paths.size(), true);
        List<Layer> layers = new ArrayList<>();
        for (int i = 0; i < paths.size(); i++) {
            String path = ImageFiles.clean(paths.get(i).asText());
            Matcher lm = BLOB_PATH.matcher(path);
            String digest = lm.matches() && path.startsWith("blobs/") ? "sha256:" + lm.group(1) : null;
            layers.add(new Layer(path, digest, diffIds.get(i), -1, null));
        }
        return new OciImage(image, files, Format.DOCKER_ARCHIVE, configDigest, configDigest, config, layers);
    }

    // --- config -----------------------------------------------------------------------------

    /** rootfs.diff_ids, one per layer; null when absent and not {@code required}. */
    private static List<String> diffIds(JsonNode config, int layers, boolean required) throws ImageException {
        JsonNode ids = config.path("rootfs").path("diff_ids");
        if (!ids.isArray()) {
            if (required) throw new ImageException("the image config has no rootfs.diff_ids, so its layers cannot be verified");
            return null;
        }
        if (ids.size() != layers) {
            throw new ImageException("the image config lists " + ids.size() + " diff_ids for " + layers + " layers");
        }
        List<String> out = new ArrayList<>();
        for (JsonNode id : ids) out.add(Digest.parse(id.asText(), "a diff_id").toString());
        return out;
    }

    private static ImageConfig parseConfig(JsonNode c) {
        if (!c.isObject()) return ImageConfig.EMPTY;
        return new ImageConfig(strings(c, "Env"), strings(c, "Entrypoint"), strings(c, "Cmd"), text(c, "WorkingDir"), text(c, "User"));
    }

    // --- helpers ----------------------------------------------------------------------------

    /** This host's architecture in OCI's (Go's) names. */
    static String hostArchitecture() {
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        return switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64";
            case "ppc64le" -> "ppc64le";
            default -> arch;
        };
    }

    private static JsonNode json(byte[] bytes, String what) throws ImageException {
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (JsonProcessingException e) {
            throw new ImageException(what + " is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new ImageException(what + " is not valid JSON: " + e.getMessage(), e);
        }
        if (n == null || n.isMissingNode()) throw new ImageException(what + " is empty");
        if (!n.isContainerNode()) throw new ImageException(what + " is not a JSON object or array");
        return n;
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || !v.isTextual() ? null : v.asText();
    }

    private static List<String> strings(JsonNode n, String field) {
        JsonNode v = n.get(field);
        List<String> out = new ArrayList<>();
        if (v != null && v.isArray()) for (JsonNode s : v) out.add(s.asText());
        else if (v != null && v.isTextual()) out.add(v.asText());
        return out;
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) return false;
        for (int i = 0; i < magic.length; i++) if ((b[i] & 0xff) != magic[i]) return false;
        return true;
    }
}
