package cutover.axonrecorder;

/** The recorder's one event: a plain class, as XStream and Jackson both serialize it. */
public class OrderPlaced {
    public String orderId;
    public String customer;
    public int quantity;

    public OrderPlaced() {
    }

    OrderPlaced(String orderId, String customer, int quantity) {
        this.orderId = orderId;
        this.customer = customer;
        this.quantity = quantity;
    }
}
