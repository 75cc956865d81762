package cutover.axonrecorder;

import jakarta.persistence.EntityManager;
import jakarta.persistence.EntityManagerFactory;
import org.axonframework.common.jpa.EntityManagerProvider;
import org.axonframework.common.transaction.Transaction;
import org.axonframework.common.transaction.TransactionManager;

/**
 * Thread-bound JPA transactions, as Spring's JpaTransactionManager gives an Axon application: one
 * EntityManager per thread and transaction (a transaction started inside another joins it), closed at its end
 * so that no entity outlives it.
 */
final class JpaTransactions implements TransactionManager, EntityManagerProvider {
    private static final Transaction JOINED = new Transaction() {
        @Override public void commit() { }
        @Override public void rollback() { }
    };

    private final EntityManagerFactory factory;
    private final ThreadLocal<EntityManager> bound = new ThreadLocal<>();

    JpaTransactions(EntityManagerFactory factory) {
        this.factory = factory;
    }

    @Override
    public Transaction startTransaction() {
        EntityManager em = getEntityManager();
        if (em.getTransaction().isActive()) return JOINED;
        em.getTransaction().begin();
        return new Transaction() {
            @Override public void commit() { end(em, true); }
            @Override public void rollback() { end(em, false); }
        };
    }

    private void end(EntityManager em, boolean commit) {
        try {
            if (commit) em.getTransaction().commit();
            else if (em.getTransaction().isActive()) em.getTransaction().rollback();
        } finally {
            bound.remove();
            em.close();
        }
    }

    @Override
    public EntityManager getEntityManager() {
        EntityManager em = bound.get();
        if (em == null || !em.isOpen()) {
            em = factory.createEntityManager();
            bound.set(em);
        }
        return em;
    }
}
