package cutover.axonrecorder;

import org.axonframework.eventhandling.EventMessage;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

/**
 * Holds a processor's segments mid-way: a handler thread that meets an event the gate stops waits there, its
 * segment's stored token and Axon's status both at the event before. Opening the gate fails the waiting
 * events, so their transactions roll back and the tokens stay where the status was read.
 */
final class Gate {
    static final class Stopped extends RuntimeException {
        Stopped() {
            super("the recording stops here");
        }
    }

    private volatile Predicate<EventMessage<?>> stops = e -> false;
    private final CountDownLatch open = new CountDownLatch(1);
    private final AtomicInteger waiting = new AtomicInteger();

    void arm(Predicate<EventMessage<?>> stops) {
        this.stops = stops;
    }

    void pass(EventMessage<?> event) throws InterruptedException {
        if (open.getCount() == 0 || !stops.test(event)) return;
        waiting.incrementAndGet();
        open.await(2, TimeUnit.MINUTES);
        throw new Stopped();
    }

    int waiting() {
        return waiting.get();
    }

    void open() {
        stops = e -> false;
        open.countDown();
    }
}
