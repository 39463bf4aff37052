package dev.skiff.server.cluster;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Which invoker a call goes to: a plain function of the invokers' latest announcements and the
 * calls this gateway has sent them since (OpenWhisk's ContainerPool.schedule idea, across
 * machines). The answer is an order to try them in, best first.
 *
 * <ol>
 *   <li>Invokers with a free warm slot for the function, the most free slots first (least loaded).</li>
 *   <li>Then invokers that already hold replicas of it (busy ones) with room for another (fewer
 *       than maxScale): a cold start there gathers the function's replicas where its code pages
 *       and runtime are already warm, and its calls will find them again.</li>
 *   <li>Then the rest, the emptiest first, so new functions spread over the cluster.</li>
 *   <li>Last, holders already at maxScale: a call there could only wait in their queue.</li>
 * </ol>
 */
public final class Placement {
    private Placement() {}

    /**
     * @param maxScale         the function's most replicas on one invoker
     * @param invokers         the live invokers' latest announcements
     * @param sentSinceAnnounce per invoker id, calls of this function this gateway has in flight
     *                          there that its last announcement may not count yet
     */
    public static List<Announcement> order(String function, int maxScale, List<Announcement> invokers, Map<String, Integer> sentSinceAnnounce) {
        List<Announcement> warm = new ArrayList<>();
        List<Announcement> holding = new ArrayList<>();
        List<Announcement> rest = new ArrayList<>();
        List<Announcement> full = new ArrayList<>();
        for (Announcement a : invokers) {
            Announcement.Load l = a.load(function);
            if (l != null && free(a, l, sentSinceAnnounce) > 0) warm.add(a);
            else if (l != null && l.replicas() + l.starting() >= maxScale) full.add(a);
            else if (l != null && l.replicas() + l.starting() > 0) holding.add(a);
            else rest.add(a);
        }
        warm.sort(Comparator.comparingInt((Announcement a) -> -free(a, a.load(function), sentSinceAnnounce)).thenComparing(Announcement::invoker));
        holding.sort(Comparator.comparingInt((Announcement a) -> a.load(function).waiting()).thenComparing(Announcement::invoker));
        rest.sort(Comparator.comparingInt(Announcement::totalReplicas).thenComparing(Announcement::invoker));
        List<Announcement> order = new ArrayList<>(warm);
        order.addAll(holding);
        order.addAll(rest);
        order.addAll(full);
        return order;
    }

    private static int free(Announcement a, Announcement.Load l, Map<String, Integer> sent) {
        // The announcement counts calls running when it was made; calls this gateway sent since
        // may be among them or not, so assume the larger of the two.
        int mine = sent.getOrDefault(a.invoker(), 0);
        int busy = Math.max(l.inFlight() + l.waiting(), mine);
        return Math.max(0, l.replicas() * l.slotsPerReplica() - busy);
    }
}
