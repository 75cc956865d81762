package cutover.axonrecorder;

import org.axonframework.eventhandling.EventMessage;
import org.axonframework.eventhandling.EventMessageHandler;
import org.axonframework.eventhandling.EventTrackerStatus;
import org.axonframework.eventhandling.PropagatingErrorHandler;
import org.axonframework.eventhandling.SimpleEventHandlerInvoker;
import org.axonframework.eventhandling.StreamingEventProcessor;
import org.axonframework.eventhandling.TrackingEventProcessor;
import org.axonframework.eventhandling.TrackingEventProcessorConfiguration;
import org.axonframework.eventhandling.pooled.PooledStreamingEventProcessor;

import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/** Tracking and pooled streaming processors on a store, each with a handler that passes its gate. */
final class Processors {
    record Running(String name, StreamingEventProcessor processor, int segments, Gate gate, long failAt) {
        Map<Integer, EventTrackerStatus> status() {
            return Recorder.status(processor);
        }
    }

    private final Store store;

    Processors(Store store) {
        this.store = store;
    }

    private EventMessageHandler handler(Gate gate, long failAt) {
        return new EventMessageHandler() {
            @Override
            public Object handle(EventMessage<?> event) throws Exception {
                if (failAt > 0 && Recorder.position(event) == failAt) throw new IllegalStateException("poison event at global index " + failAt);
                gate.pass(event);
                return null;
            }

            @Override
            public Class<?> getTargetType() {
                return OrderPlaced.class;
            }
        };
    }

    /** A handler's failure fails its batch (rolled back, the segment in error and retried), as Axon's Spring Boot users configure with PropagatingErrorHandler. */
    private SimpleEventHandlerInvoker invoker(Gate gate, long failAt) {
        return SimpleEventHandlerInvoker.builder()
                .eventHandlers(handler(gate, failAt))
                .listenerInvocationErrorHandler(PropagatingErrorHandler.instance())
                .build();
    }

    Running tracking(String name, int segments, int threads, Gate gate) {
        return tracking(name, segments, threads, gate, 0);
    }

    Running tracking(String name, int segments, int threads, Gate gate, long failAt) {
        TrackingEventProcessor p = TrackingEventProcessor.builder()
                .name(name)
                .eventHandlerInvoker(invoker(gate, failAt))
                .messageSource(store.eventStore())
                .tokenStore(store.tokenStore())
                .transactionManager(store.tx())
                .trackingEventProcessorConfiguration(TrackingEventProcessorConfiguration.forParallelProcessing(threads)
                        .andInitialSegmentsCount(segments)
                        .andTokenClaimInterval(200, TimeUnit.MILLISECONDS)
                        .andEventAvailabilityTimeout(200, TimeUnit.MILLISECONDS))
                .build();
        p.start();
        return new Running(name, p, segments, gate, failAt);
    }

    Running pooled(String name, int segments, Gate gate) {
        ScheduledExecutorService coordinator = Executors.newSingleThreadScheduledExecutor(daemon(name + "-coordinator"));
        ScheduledExecutorService workers = Executors.newScheduledThreadPool(4, daemon(name + "-worker"));
        PooledStreamingEventProcessor p = PooledStreamingEventProcessor.builder()
                .name(name)
                .eventHandlerInvoker(invoker(gate, 0))
                .messageSource(store.eventStore())
                .tokenStore(store.tokenStore())
                .transactionManager(store.tx())
                .coordinatorExecutor(coordinator)
                .workerExecutor(workers)
                .initialSegmentCount(segments)
                .tokenClaimInterval(200)
                .build();
        p.start();
        return new Running(name, p, segments, gate, 0);
    }

    /** The same processor started anew (a new instance, as after a restart of the application) on this many threads. */
    Running restart(Running old, int threads) {
        return tracking(old.name(), old.segments(), threads, old.gate(), old.failAt());
    }

    private static java.util.concurrent.ThreadFactory daemon(String name) {
        return r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        };
    }
}
