package dev.skiff.server.scale;

import java.util.Comparator;
import java.util.Map;
import java.util.TreeMap;

/**
 * How many replicas of a function each invoker should run for a decision of {@code desired} in
 * total, as a plain function of where replicas run now. Replicas stay where they are as far as
 * possible, and moves gather them, as the gateway's placement does with cold starts: a scale-up
 * adds to the invoker that runs the most already, a scale-down takes from the one that runs the
 * fewest. A scale-up adds only where there is room (memory for another replica): when no
 * invoker that runs the function has room, the decision stays short, and the calls that need
 * the replicas start them where the gateways find room. (An even share per invoker fought the
 * gateway: it gathered replicas on one invoker, the share then stopped them there, and the next
 * calls started them again.)
 */
final class ReplicaSpread {
    private ReplicaSpread() {}

    /**
     * @param current replicas per invoker, of the invokers that reported the function lately
     * @param room    per invoker, how many more replicas of the function fit; an invoker missing
     *                here has room enough
     * @return the target per invoker (the same keys), or an empty map when nobody reported: then
     *         whoever runs the function takes the whole count
     */
    static Map<String, Integer> targets(int desired, Map<String, Integer> current, Map<String, Integer> room) {
        Map<String, Integer> left = new TreeMap<>(room);
        Map<String, Integer> t = new TreeMap<>(current);
        if (t.isEmpty()) return t;
        int total = t.values().stream().mapToInt(Integer::intValue).sum();
        Comparator<Map.Entry<String, Integer>> byCount = Map.Entry.comparingByValue();
        for (; total > desired; total--) {
            String fewest = t.entrySet().stream().filter(e -> e.getValue() > 0).min(byCount).orElseThrow().getKey();
            t.merge(fewest, -1, Integer::sum);
        }
        for (; total < desired; total++) {
            var most = t.entrySet().stream().filter(e -> left.getOrDefault(e.getKey(), Integer.MAX_VALUE) > 0)
                    .max(byCount.thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder())));
            if (most.isEmpty()) break;
            t.merge(most.get().getKey(), 1, Integer::sum);
            left.computeIfPresent(most.get().getKey(), (k, n) -> n - 1);
        }
        return t;
    }
}
