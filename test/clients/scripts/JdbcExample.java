// PgJDBC as Materialize's Java guide uses it: a PreparedStatement run often enough that the driver
// switches to a named server-side statement (prepareThreshold, 5 by default), a SUBSCRIBE read with
// DECLARE/FETCH in a transaction (autocommit off: the driver sends BEGIN with the first statement),
// and a refused statement followed by another. Prints one line per finding.
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

public class JdbcExample {
    public static void main(String[] args) throws Exception {
        try (Connection conn = DriverManager.getConnection(args[0], "materialize", "")) {
            System.out.println("version " + conn.getMetaData().getDatabaseProductVersion());

            StringBuilder doubled = new StringBuilder();
            try (PreparedStatement ps = conn.prepareStatement("SELECT ?::int * 2 AS doubled, ? AS label")) {
                for (int i = 1; i <= 7; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "n" + i);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        doubled.append(rs.getInt("doubled")).append(rs.getString("label")).append(' ');
                    }
                }
            }
            System.out.println("prepared " + doubled.toString().trim());

            conn.setAutoCommit(false);
            try (Statement st = conn.createStatement()) {
                st.execute("DECLARE c CURSOR FOR SUBSCRIBE (SELECT id, name FROM java_items)");
                try (ResultSet rs = st.executeQuery("FETCH ALL c WITH (timeout = '1s')")) {
                    while (rs.next()) {
                        System.out.println("fetched " + rs.getLong("mz_diff") + " " + rs.getInt("id") + " " + rs.getString("name"));
                    }
                }
            }
            conn.commit();
            conn.setAutoCommit(true);

            try (PreparedStatement ps = conn.prepareStatement("SELECT 'abc' ~ ? AS m")) {
                ps.setString(1, "a".repeat(100_000));
                ps.executeQuery();
                System.out.println("huge pattern accepted");
            } catch (SQLException e) {
                System.out.println("refused " + e.getMessage().split("\n")[0]);
            }
            try (PreparedStatement ps = conn.prepareStatement("SELECT ? AS still")) {
                ps.setString(1, "here");
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    System.out.println("after " + rs.getString("still"));
                }
            }
        }
    }
}
