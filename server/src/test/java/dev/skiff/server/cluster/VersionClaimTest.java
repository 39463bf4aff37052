package dev.skiff.server.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class VersionClaimTest {
    @Test
    void theFirstRecordWithANumberKeepsIt() {
        assertEquals(VersionClaim.IGNORE, VersionClaim.of("aaa", "bbb", "aaa"), "a later record with another package");
        assertEquals(VersionClaim.IGNORE, VersionClaim.of("aaa", "bbb", null), "even where the number is not stored yet");
        assertEquals(VersionClaim.HAVE_IT, VersionClaim.of("aaa", "aaa", "aaa"), "a rollback to it, or the same record read again");
    }

    @Test
    void anUploadOfThisNodesThatTheLogGaveNoNumberYetMovesAway() {
        assertEquals(VersionClaim.MOVE_OURS_AWAY, VersionClaim.of(null, "bbb", "aaa"));
        assertEquals(VersionClaim.HAVE_IT, VersionClaim.of(null, "aaa", "aaa"), "its own record read back");
        assertEquals(VersionClaim.FETCH, VersionClaim.of(null, "bbb", null));
    }

    @Test
    void recordsWithoutAHashAreTakenAsTheyAre() {
        assertEquals(VersionClaim.HAVE_IT, VersionClaim.of("aaa", "", "ccc"));
        assertEquals(VersionClaim.FETCH, VersionClaim.of("aaa", "", null));
    }
}
