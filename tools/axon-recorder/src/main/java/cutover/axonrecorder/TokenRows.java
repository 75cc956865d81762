package cutover.axonrecorder;

import org.axonframework.eventhandling.TrackingToken;
import org.axonframework.serialization.Serializer;
import org.axonframework.serialization.SimpleSerializedObject;

import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The token table as stored, read with plain SQL (fetchToken would claim a segment) and each token
 * deserialized with the store's serializer, as AbstractTokenEntry#getToken does.
 */
final class TokenRows {
    record Row(String processor, int segment, String tokenType, String token, String owner, String timestamp, TrackingToken decoded) {
    }

    private final String url;
    private final String user;
    private final String password;
    private final String query;
    private final Serializer serializer;

    TokenRows(String url, String user, String password, boolean jpa, Serializer serializer) {
        this.url = url;
        this.user = user;
        this.password = password;
        this.serializer = serializer;
        this.query = jpa
                ? "SELECT processor_name, segment, token_type, lo_get(token), owner, timestamp FROM token_entry ORDER BY processor_name, segment"
                : "SELECT processorName, segment, tokenType, token, owner, timestamp FROM TokenEntry ORDER BY processorName, segment";
    }

    List<Row> read() {
        List<Row> rows = new ArrayList<>();
        try (Connection c = DriverManager.getConnection(url, user, password); ResultSet rs = c.createStatement().executeQuery(query)) {
            while (rs.next()) {
                byte[] bytes = rs.getBytes(4);
                String type = rs.getString(3);
                TrackingToken decoded = bytes == null ? null
                        : serializer.deserialize(new SimpleSerializedObject<>(bytes, byte[].class, type, null));
                rows.add(new Row(rs.getString(1), rs.getInt(2), type, bytes == null ? null : new String(bytes, StandardCharsets.UTF_8),
                        rs.getString(5), rs.getString(6), decoded));
            }
        } catch (SQLException e) {
            throw new IllegalStateException("reading the token table", e);
        }
        return rows;
    }

    List<Row> of(String processor) {
        return read().stream().filter(r -> r.processor().equals(processor)).toList();
    }
}
