package dev.skiff.server.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Which invoker a call goes to, and how many replicas of the function it may run for it: plain
 * functions of the invokers' latest announcements and the calls this gateway has sent them since
 * (OpenWhisk's ContainerPool.schedule idea, across machines). The order is the one to try them
 * in, best first. A function's maxScale counts across the cluster; an invoker's room is the
 * memory it offers replicas (skiff.replica-memory) less the limits of those it runs.
 *
 * <ol>
 *   <li>Invokers with a free warm slot for the function, the most free slots first (least loaded).</li>
 *   <li>Then invokers that hold replicas of it (busy ones) and have room for one more, the
 *       shortest queue first: a cold start there gathers the function's replicas where its code
 *       pages and runtime are already warm, and its calls will find them again.</li>
 *   <li>Then the other invokers with room, the most room first, so functions spread over the
 *       cluster once their first invoker is full.</li>
 *   <li>Then holders without room (a call can wait there for a slot), then the rest.</li>
 * </ol>
 *
 * At maxScale (replicas running and starting, over all invokers) no invoker may start another
 * ({@link #replicaLimit}): a call can only wait for a slot, so after the free warm slots come
 * the holders, room or not, the shortest queue first, and an invoker without replicas last.
 */
public final class Placement {
    private Placement() {}

    /**
     * @param memory           the memory limit of one replica of the function
     * @param maxScale         the function's most replicas, over all invokers
     * @param invokers         the live invokers' latest announcements
     * @param sentSinceAnnounce per invoker id, calls of this function this gateway has in flight
     *                          there that its last announcement may not count yet
     */
    public static List<Announcement> order(String function, long memory, int maxScale, List<Announcement> invokers,
            Map<String, Integer> sentSinceAnnounce) {
        int running = 0;
        for (Announcement a : invokers) {
            Announcement.Load l = a.load(function);
            if (l != null) running += l.replicas() + l.starting();
        }
        boolean atMaxScale = running >= maxScale;
        List<Announcement> warm = new ArrayList<>();
        List<Announcement> holdingWithRoom = new ArrayList<>();
        List<Announcement> withRoom = new ArrayList<>();
        List<Announcement> holdingFull = new ArrayList<>();
        List<Announcement> full = new ArrayList<>();
        for (Announcement a : invokers) {
            Announcement.Load l = a.load(function);
            boolean holds = l != null && l.replicas() + l.starting() > 0;
            if (l != null && free(a, l, sentSinceAnnounce) > 0) warm.add(a);
            else if (holds) (a.roomFor(memory) || atMaxScale ? holdingWithRoom : holdingFull).add(a);
            else (a.roomFor(memory) ? withRoom : full).add(a);
        }
        warm.sort(Comparator.comparingInt((Announcement a) -> -free(a, a.load(function), sentSinceAnnounce)).thenComparing(Announcement::invoker));
        Comparator<Announcement> shortestQueue = Comparator.comparingInt((Announcement a) -> a.load(function).waiting()).thenComparing(Announcement::invoker);
        Comparator<Announcement> mostRoom = Comparator.comparingLong((Announcement a) -> -a.memoryFree())
                .thenComparingInt(Announcement::totalReplicas).thenComparing(Announcement::invoker);
        holdingWithRoom.sort(shortestQueue);
        withRoom.sort(mostRoom);
        holdingFull.sort(shortestQueue);
        full.sort(mostRoom);
        List<Announcement> order = new ArrayList<>(warm);
        order.addAll(holdingWithRoom);
        if (atMaxScale) {
            order.addAll(holdingFull); // empty: at maxScale every holder is in holdingWithRoom
            order.addAll(withRoom);
        } else {
            order.addAll(withRoom);
            order.addAll(holdingFull);
        }
        order.addAll(full);
        return order;
    }

    /**
     * The most replicas of the function {@code target} may run: maxScale less those the other
     * invokers run or are starting (at least 0, which lets a call there only wait for a slot).
     */
    public static int replicaLimit(String function, int maxScale, List<Announcement> invokers, Announcement target) {
        int elsewhere = 0;
        for (Announcement a : invokers) {
            if (a.invoker().equals(target.invoker())) continue;
            Announcement.Load l = a.load(function);
            if (l != null) elsewhere += l.replicas() + l.starting();
        }
        return Math.max(0, maxScale - elsewhere);
    }
    private static int free(Announcement a, Announcement.Load l, Map<String, Integer> sent) {
        // The announcement counts calls running when it was made; calls this gateway sent since
        // may be among them or not, so assume the larger of the two.
        int mine = sent.getOrDefault(a.invoker(), 0);
        int busy = Math.max(l.inFlight() + l.waiting(), mine);
        return Math.max(0, l.replicas() * l.slotsPerReplica() - busy);
    }
}
