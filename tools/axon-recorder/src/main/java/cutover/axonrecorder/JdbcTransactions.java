package cutover.axonrecorder;

import org.axonframework.common.jdbc.ConnectionProvider;
import org.axonframework.common.transaction.Transaction;
import org.axonframework.common.transaction.TransactionManager;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;

/**
 * Thread-bound JDBC transactions, as Spring's DataSourceTransactionManager gives an Axon application: the
 * event store, the token store and the processors share the thread's connection, and a transaction started
 * inside another joins it. Outside a transaction a connection is an auto-commit one of its own.
 */
final class JdbcTransactions implements TransactionManager, ConnectionProvider {
    private static final Transaction JOINED = new Transaction() {
        @Override public void commit() { }
        @Override public void rollback() { }
    };

    private final String url;
    private final String user;
    private final String password;
    private final ThreadLocal<Connection> bound = new ThreadLocal<>();

    JdbcTransactions(String url, String user, String password) {
        this.url = url;
        this.user = user;
        this.password = password;
    }

    private Connection open() throws SQLException {
        return DriverManager.getConnection(url, user, password);
    }

    @Override
    public Transaction startTransaction() {
        if (bound.get() != null) return JOINED;
        try {
            Connection c = open();
            c.setAutoCommit(false);
            bound.set(c);
            return new Transaction() {
                @Override public void commit() { end(c, true); }
                @Override public void rollback() { end(c, false); }
            };
        } catch (SQLException e) {
            throw new IllegalStateException("cannot start a transaction", e);
        }
    }

    private void end(Connection c, boolean commit) {
        bound.remove();
        try (c) {
            if (commit) c.commit();
            else c.rollback();
        } catch (SQLException e) {
            throw new IllegalStateException(commit ? "commit failed" : "rollback failed", e);
        }
    }

    @Override
    public Connection getConnection() throws SQLException {
        Connection c = bound.get();
        if (c == null) return open();
        // the transaction's connection: its owner closes it, not the caller
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[]{Connection.class}, (proxy, method, args) -> {
            if (method.getName().equals("close")) return null;
            try {
                return method.invoke(c, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });
    }
}
