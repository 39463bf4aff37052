package dev.skiff.server.cluster;

/**
 * What a node does with a function record for version N, given what it knows of N: the first
 * record on the log with a number takes it for its package, on every node alike, whoever wrote it.
 */
enum VersionClaim {
    /** An earlier record gave N to another package: this one lost a race; its gateway moves its upload. */
    IGNORE,
    /** This node holds another package as N that no earlier record gave N to (its own upload): it moves that one away, then stores this one. */
    MOVE_OURS_AWAY,
    /** This node has the package as N already. */
    HAVE_IT,
    /** This node lacks N: it fetches the package. */
    FETCH;

    /**
     * @param taken  the package's SHA-256 an earlier record gave N to, or null
     * @param record this record's package SHA-256, or empty (written by a Skiff before hashes: trusted as it is)
     * @param here   the SHA-256 of this node's N, or null when it has none
     */
    static VersionClaim of(String taken, String record, String here) {
        boolean hashed = !record.isEmpty();
        if (hashed && taken != null && !taken.equals(record)) return IGNORE;
        if (here == null) return FETCH;
        if (hashed && !here.equals(record)) return MOVE_OURS_AWAY;
        return HAVE_IT;
    }
}
