package cutover.axonrecorder;

import com.thoughtworks.xstream.XStream;
import org.axonframework.common.transaction.TransactionManager;
import org.axonframework.eventhandling.tokenstore.TokenStore;
import org.axonframework.eventhandling.tokenstore.jdbc.JdbcTokenStore;
import org.axonframework.eventhandling.tokenstore.jdbc.PostgresTokenTableFactory;
import org.axonframework.eventhandling.tokenstore.jpa.JpaTokenStore;
import org.axonframework.eventhandling.tokenstore.jpa.TokenEntry;
import org.axonframework.eventsourcing.eventstore.EmbeddedEventStore;
import org.axonframework.eventsourcing.eventstore.EventStorageEngine;
import org.axonframework.eventsourcing.eventstore.jdbc.JdbcEventStorageEngine;
import org.axonframework.eventsourcing.eventstore.jdbc.PostgresEventTableFactory;
import org.axonframework.eventsourcing.eventstore.jpa.DomainEventEntry;
import org.axonframework.eventsourcing.eventstore.jpa.JpaEventStorageEngine;
import org.axonframework.eventsourcing.eventstore.jpa.SnapshotEventEntry;
import org.axonframework.serialization.Serializer;
import org.axonframework.serialization.json.JacksonSerializer;
import org.axonframework.serialization.xml.XStreamSerializer;
import org.hibernate.SessionFactory;
import org.hibernate.boot.model.naming.CamelCaseToUnderscoresNamingStrategy;
import org.hibernate.cfg.Configuration;

import java.util.LinkedHashMap;
import java.util.Map;

/** An Axon event store and token store on one PostgreSQL database, as an application configures them. */
record Store(EmbeddedEventStore eventStore, TokenStore tokenStore, TransactionManager tx, Map<String, String> description, Runnable close) {

    static Serializer serializer(String name) {
        return switch (name) {
            case "xstream" -> {
                XStream xStream = new XStream();
                xStream.allowTypesByWildcard(new String[]{"org.axonframework.**", "cutover.**"});
                yield XStreamSerializer.builder().xStream(xStream).build();
            }
            // Axon's Spring Boot auto-configuration builds it the same way, around Spring's ObjectMapper
            case "jackson" -> JacksonSerializer.builder().build();
            default -> throw new IllegalArgumentException("serializer " + name);
        };
    }

    /** JdbcEventStorageEngine and JdbcTokenStore with Axon's PostgreSQL table factories (token bytea). */
    static Store jdbc(String url, String user, String password, String serializerName) {
        Serializer serializer = serializer(serializerName);
        JdbcTransactions tx = new JdbcTransactions(url, user, password);
        JdbcEventStorageEngine engine = JdbcEventStorageEngine.builder()
                .connectionProvider(tx).transactionManager(tx)
                .eventSerializer(serializer).snapshotSerializer(serializer)
                .build();
        JdbcTokenStore tokens = JdbcTokenStore.builder().connectionProvider(tx).serializer(serializer).build();
        tx.executeInTransaction(() -> {
            engine.createSchema(PostgresEventTableFactory.INSTANCE);
            tokens.createSchema(PostgresTokenTableFactory.INSTANCE);
        });
        return new Store(eventStore(engine), tokens, tx, describe("JdbcEventStorageEngine", "JdbcTokenStore", serializerName,
                "PostgresEventTableFactory and PostgresTokenTableFactory (token bytea)"), () -> { });
    }

    /**
     * JpaEventStorageEngine and JpaTokenStore on Hibernate 6.6 with Spring Boot 3's physical naming
     * (CamelCaseToUnderscoresNamingStrategy) and the schema Hibernate generates: TokenEntry's @Lob token is an
     * oid large object on PostgreSQL, as in a Spring Boot 3 application.
     */
    static Store jpa(String url, String user, String password, String serializerName) {
        Serializer serializer = serializer(serializerName);
        Configuration cfg = new Configuration()
                .addAnnotatedClass(TokenEntry.class)
                .addAnnotatedClass(DomainEventEntry.class)
                .addAnnotatedClass(SnapshotEventEntry.class)
                .setProperty("hibernate.connection.url", url)
                .setProperty("hibernate.connection.username", user)
                .setProperty("hibernate.connection.password", password)
                .setProperty("hibernate.connection.pool_size", "40")
                .setProperty("hibernate.hbm2ddl.auto", "create");
        cfg.setPhysicalNamingStrategy(new CamelCaseToUnderscoresNamingStrategy());
        SessionFactory factory = cfg.buildSessionFactory();
        JpaTransactions tx = new JpaTransactions(factory);
        JpaEventStorageEngine engine = JpaEventStorageEngine.builder()
                .entityManagerProvider(tx).transactionManager(tx)
                .eventSerializer(serializer).snapshotSerializer(serializer)
                .build();
        JpaTokenStore tokens = JpaTokenStore.builder().entityManagerProvider(tx).serializer(serializer).build();
        return new Store(eventStore(engine), tokens, tx, describe("JpaEventStorageEngine", "JpaTokenStore", serializerName,
                "Hibernate 6.6.22.Final hbm2ddl with CamelCaseToUnderscoresNamingStrategy (Spring Boot 3's naming; token oid)"), factory::close);
    }

    private static EmbeddedEventStore eventStore(EventStorageEngine engine) {
        return EmbeddedEventStore.builder().storageEngine(engine).build();
    }

    private static Map<String, String> describe(String events, String tokens, String serializer, String schema) {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("eventStorageEngine", events);
        d.put("tokenStore", tokens);
        d.put("serializer", serializer.equals("xstream") ? "XStreamSerializer" : "JacksonSerializer");
        d.put("schema", schema);
        return d;
    }
}
