package cutover.axonrecorder;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import org.axonframework.common.transaction.Transaction;
import org.axonframework.eventhandling.EventMessage;
import org.axonframework.eventhandling.EventTrackerStatus;
import org.axonframework.eventhandling.GenericDomainEventMessage;
import org.axonframework.eventhandling.ReplayToken;
import org.axonframework.eventhandling.StreamingEventProcessor;
import org.axonframework.eventhandling.TrackedEventMessage;
import org.axonframework.eventhandling.TrackingToken;

import java.io.File;
import java.io.IOException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.function.BooleanSupplier;

/**
 * Records what a real Axon Framework application writes to PostgreSQL, case by case, each in a database of
 * its own: the processors below run over one event stream with gaps from rolled-back transactions, and what
 * Axon's own API reports for each (EventTrackerStatus per segment, the head token) is written to
 * {@code <out>/<case>/axon.json}. The script dumps the database beside it.
 *
 * <p>Arguments: {@code host port user password outDir case...}
 */
public final class Recorder {
    static final String AXON_VERSION = "4.13.0";
    static final String SOURCE = "tools/axon-recorder (cutover.axonrecorder.Recorder) on Axon Framework " + AXON_VERSION;

    /** A case: the store, its serializer, and whether it runs every scenario or the main ones. */
    record Case(String name, boolean jpa, String serializer, boolean allScenarios, boolean events) {
    }

    static final List<Case> CASES = List.of(
            new Case("jdbc-xstream", false, "xstream", true, true),
            new Case("jpa-jackson-oid", true, "jackson", true, true),
            new Case("jdbc-jackson", false, "jackson", false, true),
            new Case("jpa-xstream-oid", true, "xstream", false, true),
            new Case("jdbc-empty-store", false, "xstream", false, false));

    public static void main(String[] args) {
        try {
            record(args);
        } catch (Throwable e) {
            e.printStackTrace();
            System.exit(1);
        }
        // the processors' threads are no daemons
        System.exit(0);
    }

    static void record(String[] args) throws Exception {
        String base = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/";
        String user = args[2];
        String password = args[3];
        File out = new File(args[4]);
        List<String> wanted = List.of(args).subList(5, args.length);
        for (Case c : CASES) {
            if (!wanted.isEmpty() && !wanted.contains(c.name())) continue;
            String db = "axon_" + c.name().replace('-', '_');
            try (Connection admin = DriverManager.getConnection(base + "postgres", user, password)) {
                admin.createStatement().execute("DROP DATABASE IF EXISTS " + db);
                admin.createStatement().execute("CREATE DATABASE " + db);
            }
            String url = base + db;
            Store store = c.jpa() ? Store.jpa(url, user, password, c.serializer()) : Store.jdbc(url, user, password, c.serializer());
            TokenRows tokens = new TokenRows(url, user, password, c.jpa(), Store.serializer(c.serializer()));
            long began = System.nanoTime();
            Map<String, Object> report = new Recording(c, store, tokens).run();
            report.put("recordedInMs", (System.nanoTime() - began) / 1_000_000);
            File dir = new File(out, c.name());
            if (!dir.isDirectory() && !dir.mkdirs()) throw new IOException("cannot create " + dir);
            new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValue(new File(dir, "axon.json"), report);
            store.close().run();
            System.out.println("recorded " + c.name() + " in " + report.get("recordedInMs") + " ms");
        }
    }

    /** One case's run: the event stream, the processors, what Axon reports, the tables checked against it. */
    static final class Recording {
        private final Case c;
        private final Store store;
        private final TokenRows tokens;
        private final Processors processors;
        private int published;
        private final List<Map<String, Object>> reports = new ArrayList<>();

        Recording(Case c, Store store, TokenRows tokens) {
            this.c = c;
            this.store = store;
            this.tokens = tokens;
            this.processors = new Processors(store);
        }

        /** Events in transactions of ten; every fifth transaction of the stream is rolled back, leaving a gap of global indexes. */
        void publish(int count) {
            for (int i = 0; i < count; i += 10) {
                Transaction tx = store.tx().startTransaction();
                for (int j = i; j < Math.min(count, i + 10); j++) {
                    int n = published + j;
                    store.eventStore().publish(new GenericDomainEventMessage<>("Order", "order-" + (n % 23), n / 23,
                            new OrderPlaced("order-" + (n % 23), "c" + (n % 7), 1 + n % 5)));
                }
                tx.commit();
                if ((i / 10) % 5 == 2) rolledBack(3);
            }
            published += count;
        }

        private void rolledBack(int count) {
            Transaction tx = store.tx().startTransaction();
            for (int j = 0; j < count; j++) {
                store.eventStore().publish(new GenericDomainEventMessage<>("Order", "rolled-back-" + published + "-" + j, 0, new OrderPlaced("x", "x", 0)));
            }
            tx.rollback();
        }

        Map<String, Object> run() throws Exception {
            if (!c.events()) return runOnEmptyStore();
            publish(150);
            Processors.Running tracking = processors.tracking("orders-tracking", 4, 4, new Gate());
            Processors.Running pooled = processors.pooled("orders-pooled", 4, new Gate());
            Processors.Running stopped = processors.tracking("orders-stopped", 2, 2, new Gate());
            Gate replayGate = new Gate();
            Processors.Running replay = processors.tracking("orders-replay", 2, 2, replayGate);
            Processors.Running reset = processors.tracking("orders-reset", 2, 2, new Gate());
            List<Processors.Running> all = new ArrayList<>(List.of(tracking, pooled, stopped, replay, reset));
            Gate mergeGate = new Gate();
            Processors.Running merged = null;
            Processors.Running failing = null;
            if (c.allScenarios()) {
                merged = processors.tracking("orders-merged", 2, 2, mergeGate);
                Gate poison = new Gate();
                failing = processors.tracking("orders-failing", 1, 1, poison, 97);
                all.add(merged);
                all.add(failing);
            }
            long firstHead = head();
            for (Processors.Running p : all) {
                if (p != failing) waitFor(p.name() + " to catch up with " + firstHead, () -> caughtUp(p, firstHead));
            }
            if (failing != null) {
                Processors.Running f = failing;
                waitFor("orders-failing to fail at its poison event", () -> f.status().values().stream().anyMatch(EventTrackerStatus::isErrorState));
            }
            stopped.processor().shutDown();
            replay.processor().shutDown();
            // reset while shut down, and not started again: each segment waits to replay from the start
            reset.processor().shutDown();
            reset.processor().resetTokens();
            if (merged != null) merged.processor().shutDown();

            publish(100);
            long head = head();
            waitFor("orders-tracking and orders-pooled to catch up with " + head, () -> caughtUp(tracking, head) && caughtUp(pooled, head));

            // a reset mid-way: the replay holds at the middle of the stream in each segment
            replay.processor().resetTokens();
            replayGate.arm(e -> ReplayToken.isReplay(e) && position(e) >= head / 2);
            Processors.Running replaying = processors.restart(replay, 2);
            waitFor("orders-replay to hold mid-way", () -> held(replaying, replayGate));

            Processors.Running merging = null;
            if (merged != null) {
                // one thread: segment 0 catches up alone, then merges with segment 1, which stayed where it stopped
                Processors.Running single = processors.restart(merged, 1);
                waitFor("orders-merged's segment 0 to catch up", () -> {
                    EventTrackerStatus s = single.status().get(0);
                    return s != null && s.isCaughtUp() && s.getCurrentPosition().orElse(0) == head;
                });
                mergeGate.arm(e -> true);
                single.processor().mergeSegment(0).get();
                waitFor("orders-merged to hold with a merged token", () -> mergeGate.waiting() == 1);
                merging = single;
            }

            String configOwner = tracking.processor().getTokenStoreIdentifier();
            List<Processors.Running> settled = new ArrayList<>(List.of(tracking, pooled));
            if (failing != null) settled.add(failing);
            List<Processors.Running> running = new ArrayList<>(settled);
            running.add(replaying);
            if (merging != null) running.add(merging);
            // a pooled processor writes a segment's token some seconds after its status moved: wait until the table says what the status says
            // (a held processor's status may be one batch ahead of its table: the batch it holds in)
            try {
                waitFor("the stored tokens to match every settled processor's status", () -> settled.stream().allMatch(this::storedMatchesStatus));
            } catch (IllegalStateException e) {
                throw new IllegalStateException(e.getMessage() + ": " + mismatch, e);
            }
            long finalHead = head();
            Map<String, Map<Integer, EventTrackerStatus>> statuses = new LinkedHashMap<>();
            for (Processors.Running p : running) statuses.put(p.name(), p.status());

            replayGate.open();
            mergeGate.open();
            for (Processors.Running p : running) p.processor().shutDown();

            report(tracking, statuses.get("orders-tracking"), "a TrackingEventProcessor, 4 segments on 4 threads, caught up and running");
            report(pooled, statuses.get("orders-pooled"), "a PooledStreamingEventProcessor, 4 segments, caught up and running");
            report(stopped, null, "a TrackingEventProcessor, 2 segments, shut down after the first 150 events; 100 more appended since");
            report(reset, null, "a TrackingEventProcessor, 2 segments, shut down after the first 150 events and reset (resetTokens): not started since, so no event replayed yet");
            report(replaying, statuses.get("orders-replay"),
                    "a TrackingEventProcessor, 2 segments, reset (resetTokens) after catching up and replaying: each segment holds at its first event past the middle of the stream", true);
            if (merging != null) {
                report(merging, statuses.get("orders-merged"),
                        "a TrackingEventProcessor, 2 segments shut down after 150 events, restarted on 1 thread (segment 0 caught up alone), then mergeSegment(0): the merged token holds where it was written", true);
            }
            if (failing != null) {
                report(failing, statuses.get("orders-failing"), "a TrackingEventProcessor, 1 segment, whose handler fails on global index 97 every time: in error, retrying");
            }
            return document(finalHead, configOwner);
        }

        private Map<String, Object> runOnEmptyStore() throws Exception {
            Processors.Running p = processors.tracking("orders-tracking", 2, 2, new Gate());
            waitFor("orders-tracking to claim its segments", () -> p.status().size() == 2 && p.status().values().stream().allMatch(EventTrackerStatus::isCaughtUp));
            Map<Integer, EventTrackerStatus> status = p.status();
            p.processor().shutDown();
            report(p, status, "a TrackingEventProcessor, 2 segments, started on an empty event store: its segments are claimed with no token yet");
            return document(head(), null);
        }

        private Map<String, Object> document(long head, String configOwner) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("source", SOURCE + ": case " + c.name() + " (" + Recorder.class.getName() + "#CASES); positions as Axon reports them, "
                    + "TrackingToken#position() with an absent position as 0 (StreamingEventProcessorInfoMessage#getPosition, axon-server-connector, axon-4.13.0)");
            doc.put("axonVersion", AXON_VERSION);
            doc.put("case", c.name());
            doc.put("store", store.description());
            TrackingToken headToken = store.tx().fetchInTransaction(() -> store.eventStore().createHeadToken());
            Map<String, Object> h = new LinkedHashMap<>();
            h.put("token", String.valueOf(headToken));
            h.put("position", head);
            doc.put("head", h);
            if (configOwner != null) doc.put("tokenStoreIdentifier", configOwner);
            for (Map<String, Object> r : reports) r.put("lag", head - (long) r.get("position"));
            doc.put("processors", reports);
            List<Map<String, Object>> rows = new ArrayList<>();
            for (TokenRows.Row r : tokens.read()) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("processorName", r.processor());
                m.put("segment", r.segment());
                m.put("tokenType", r.tokenType());
                m.put("token", r.token());
                m.put("owner", r.owner());
                rows.add(m);
            }
            doc.put("tokenRows", rows);
            return doc;
        }

        /** The head as Axon gives it: the head token's position, 0 for an empty store. */
        private long head() {
            TrackingToken t = store.tx().fetchInTransaction(() -> store.eventStore().createHeadToken());
            return t == null ? 0 : t.position().orElse(0);
        }

        private boolean caughtUp(Processors.Running p, long head) {
            Map<Integer, EventTrackerStatus> s = p.status();
            return s.size() == p.segments() && s.values().stream().allMatch(x -> x.isCaughtUp() && x.getCurrentPosition().orElse(0) == head);
        }

        private boolean held(Processors.Running p, Gate gate) {
            Map<Integer, EventTrackerStatus> s = p.status();
            long notCaughtUp = s.values().stream().filter(x -> !x.isCaughtUp()).count();
            return s.size() == p.segments() && gate.waiting() == notCaughtUp && notCaughtUp > 0;
        }

        private String mismatch = "";

        private boolean storedMatchesStatus(Processors.Running p) {
            Map<Integer, EventTrackerStatus> s = p.status();
            List<TokenRows.Row> rows = tokens.of(p.name());
            boolean same = rows.size() == s.size() && rows.stream().allMatch(r -> s.containsKey(r.segment())
                    && reported(r.decoded()) == s.get(r.segment()).getCurrentPosition().orElse(0));
            if (!same) {
                mismatch = p.name() + ": table " + rows.stream().map(r -> r.segment() + "=" + reported(r.decoded())).toList()
                        + ", status " + s.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue().getCurrentPosition() + " " + e.getValue().getTrackingToken()).toList();
            }
            return same;
        }

        private void report(Processors.Running p, Map<Integer, EventTrackerStatus> status, String scenario) {
            report(p, status, scenario, false);
        }

        /** held: the status was read while a handler held the segment mid-batch, so it may be ahead of the table. */
        private void report(Processors.Running p, Map<Integer, EventTrackerStatus> status, String scenario, boolean held) {
            Map<String, Object> r = new LinkedHashMap<>();
            r.put("name", p.name());
            r.put("processor", p.processor().getClass().getSimpleName());
            r.put("scenario", scenario);
            r.put("running", status != null);
            List<Map<String, Object>> segments = new ArrayList<>();
            long slowest = Long.MAX_VALUE;
            for (TokenRows.Row row : tokens.of(p.name())) {
                Map<String, Object> seg = new LinkedHashMap<>();
                seg.put("segment", row.segment());
                seg.put("tokenType", row.tokenType());
                long position = reported(row.decoded());
                seg.put("position", position);
                OptionalLong reset = row.decoded() == null ? OptionalLong.empty() : ReplayToken.getTokenAtReset(row.decoded());
                if (reset.isPresent()) seg.put("resetPosition", reset.getAsLong());
                if (status != null) {
                    EventTrackerStatus s = status.get(row.segment());
                    if (s == null) throw new IllegalStateException(p.name() + ": no status for stored segment " + row.segment());
                    if (!held && s.getCurrentPosition().orElse(0) != position) {
                        throw new IllegalStateException(p.name() + " segment " + row.segment() + ": status at " + s.getCurrentPosition() + ", table at " + position);
                    }
                    Map<String, Object> st = new LinkedHashMap<>();
                    st.put("currentPosition", s.getCurrentPosition().isPresent() ? s.getCurrentPosition().getAsLong() : null);
                    st.put("caughtUp", s.isCaughtUp());
                    st.put("replaying", s.isReplaying());
                    st.put("merging", s.isMerging());
                    st.put("errorState", s.isErrorState());
                    if (s.getError() != null) st.put("error", s.getError().getClass().getName() + ": " + s.getError().getMessage());
                    if (s.getResetPosition().isPresent()) st.put("resetPosition", s.getResetPosition().getAsLong());
                    seg.put("eventTrackerStatus", st);
                }
                segments.add(seg);
                slowest = Math.min(slowest, position);
            }
            r.put("segments", segments);
            r.put("position", segments.isEmpty() ? 0 : slowest);
            reports.add(r);
        }
    }

    /** A segment's position as Axon reports it (StreamingEventProcessorInfoMessage#getPosition): absent is 0. */
    static long reported(TrackingToken token) {
        return token == null ? 0 : token.position().orElse(0);
    }

    static long position(EventMessage<?> e) {
        return ((TrackedEventMessage<?>) e).trackingToken().position().orElse(-1);
    }

    static void waitFor(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 60_000;
        while (!done.getAsBoolean()) {
            if (System.currentTimeMillis() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(100);
        }
    }

    /** What the processor reports, segment by segment. */
    static Map<Integer, EventTrackerStatus> status(StreamingEventProcessor p) {
        return Map.copyOf(p.processingStatus());
    }
}
