package floe.rest;

import jakarta.servlet.ReadListener;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.FileWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.iceberg.CatalogProperties;
import org.apache.iceberg.jdbc.JdbcCatalog;
import org.apache.iceberg.rest.RESTCatalogAdapter;
import org.apache.iceberg.rest.RESTCatalogServlet;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;

/**
 * The Iceberg REST catalog the floe tests talk to, on 127.0.0.1: Iceberg's
 * own RESTCatalogAdapter and RESTCatalogServlet (the reference server side
 * of the REST spec) over a JdbcCatalog on SQLite, with a local warehouse.
 *
 * In front of it, what real catalogs add and the tests need to observe:
 * authentication (OAuth2 client credentials with short-lived tokens, a
 * static bearer token, or AWS SigV4 verified as AWS does), a path prefix
 * announced by /v1/config, and a request log (JSON lines: method, path,
 * auth kind, the headers floe sent; never a secret).
 *
 * The warehouse is a local directory, or with --s3-endpoint an s3://
 * location on the tests' S3 server (moto), written through Iceberg's own
 * S3FileIO (path-style, static credentials). With --vend the server acts as
 * a catalog that delegates storage access: the answers to loadTable and
 * createTable that asked for X-Iceberg-Access-Delegation: vended-credentials
 * carry short-lived S3 credentials in `config` and in `storage-credentials`
 * (as Polaris does), which differ from the server's own; POST
 * /__test__/vend (from 127.0.0.1, body KEY:SECRET[:TOKEN]) rotates them.
 *
 * Usage: RestServer --warehouse DIR|s3://B/P --db FILE [--port N]
 *   [--log FILE] [--client ID:SECRET --token-ttl S [--token-real-ttl-ms MS]]
 *   [--token T] [--sigv4 REGION:SERVICE:KEY:SECRET] [--prefix P]
 *   [--s3-endpoint URL --s3-credentials KEY:SECRET]
 *   [--vend KEY:SECRET[:TOKEN] [--vend-endpoint URL] [--vend-ttl-ms MS]
 *    [--vend-rotate true]]   (rotate: KEY-n and SECRET-n, n counting loads)
 * Prints "listening PORT" on stdout when ready.
 */
public class RestServer {
  static String clientId, clientSecret, staticToken, prefix;
  static String[] sigv4;
  static long tokenTtl = 3600;
  static long tokenRealTtlMs = -1; // the first token's real lifetime, shorter than announced (401 tests)
  static final Map<String, Long> tokens = new ConcurrentHashMap<>();
  static final Map<String, Integer> tokenNumbers = new ConcurrentHashMap<>();
  static PrintWriter log;
  static final SecureRandom random = new SecureRandom();
  static volatile String[] vend; // key, secret, token (may be null)
  static String vendEndpoint;
  static boolean vendRotate;
  static long vendTtlMs = 3600_000L;
  static final java.util.concurrent.atomic.AtomicInteger vendCount = new java.util.concurrent.atomic.AtomicInteger();
  static final com.fasterxml.jackson.databind.ObjectMapper mapper =
      new com.fasterxml.jackson.databind.ObjectMapper();

  public static void main(String[] args) throws Exception {
    Map<String, String> opt = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) opt.put(args[i], args[i + 1]);
    String warehouse = opt.get("--warehouse");
    String db = opt.get("--db");
    int port = Integer.parseInt(opt.getOrDefault("--port", "0"));
    if (opt.containsKey("--client")) {
      String[] c = opt.get("--client").split(":", 2);
      clientId = c[0];
      clientSecret = c[1];
    }
    tokenTtl = Long.parseLong(opt.getOrDefault("--token-ttl", "3600"));
    tokenRealTtlMs = Long.parseLong(opt.getOrDefault("--token-real-ttl-ms", "-1"));
    staticToken = opt.get("--token");
    prefix = opt.get("--prefix");
    if (opt.containsKey("--sigv4")) sigv4 = opt.get("--sigv4").split(":", 4);
    if (opt.containsKey("--log")) log = new PrintWriter(new FileWriter(opt.get("--log"), true), true);

    Map<String, String> props = new HashMap<>();
    props.put(CatalogProperties.URI, "jdbc:sqlite:" + db);
    props.put(CatalogProperties.WAREHOUSE_LOCATION, warehouse);
    if (opt.containsKey("--s3-endpoint")) {
      String[] keys = opt.get("--s3-credentials").split(":", 2);
      props.put(CatalogProperties.FILE_IO_IMPL, "org.apache.iceberg.aws.s3.S3FileIO");
      props.put("s3.endpoint", opt.get("--s3-endpoint"));
      props.put("s3.path-style-access", "true");
      props.put("s3.access-key-id", keys[0]);
      props.put("s3.secret-access-key", keys[1]);
      props.put("client.region", "us-east-1");
    } else {
      props.put(CatalogProperties.FILE_IO_IMPL, LocalFileIO.class.getName());
    }
    if (opt.containsKey("--vend")) vend = opt.get("--vend").split(":", 3);
    vendEndpoint = opt.get("--vend-endpoint");
    vendRotate = Boolean.parseBoolean(opt.getOrDefault("--vend-rotate", "false"));
    vendTtlMs = Long.parseLong(opt.getOrDefault("--vend-ttl-ms", "3600000"));
    props.put("jdbc.schema-version", "V1");
    JdbcCatalog catalog = new JdbcCatalog();
    catalog.initialize("rest_backend", props);
    RESTCatalogAdapter adapter = new RESTCatalogAdapter(catalog);
    RESTCatalogServlet servlet = new RESTCatalogServlet(adapter);

    Server server = new Server();
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
    context.setContextPath("/");
    context.addServlet(new ServletHolder(new Front(servlet)), "/*");
    server.setHandler(context);
    server.start();
    warmUp(connector.getLocalPort());
    System.out.println("listening " + connector.getLocalPort());
    System.out.flush();
    server.join();
  }

  /**
   * Runs each kind of request once against this server before it reports
   * ready, so the tests' first requests do not pay for class loading and a
   * cold JIT (seconds), which would trip the short client timeouts the
   * fault tests use.
   */
  static void warmUp(int port) throws Exception {
    java.net.http.HttpClient client = java.net.http.HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + port + "/v1/";
    String[][] calls = {
      {"GET", "config", null},
      {"POST", "namespaces", "{\"namespace\":[\"floe_warmup\"]}"},
      {"HEAD", "namespaces/floe_warmup", null},
      {"POST", "namespaces/floe_warmup/tables",
        "{\"name\":\"t\",\"schema\":{\"type\":\"struct\",\"schema-id\":0,\"fields\":[{\"id\":1,\"name\":\"id\",\"required\":false,\"type\":\"long\"}]},\"properties\":{\"format-version\":\"2\"}}"},
      {"GET", "namespaces/floe_warmup/tables/t", null},
      {"HEAD", "namespaces/floe_warmup/tables/t", null},
      {"POST", "namespaces/floe_warmup/tables/t",
        "{\"requirements\":[{\"type\":\"assert-ref-snapshot-id\",\"ref\":\"main\",\"snapshot-id\":null}],\"updates\":[{\"action\":\"set-properties\",\"updates\":{\"k\":\"v\"}}]}"},
      {"GET", "namespaces/floe_warmup/tables", null},
      {"DELETE", "namespaces/floe_warmup/tables/t?purgeRequested=true", null},
      {"DELETE", "namespaces/floe_warmup", null},
    };
    for (String[] c : calls) {
      java.net.http.HttpRequest.Builder b =
          java.net.http.HttpRequest.newBuilder(java.net.URI.create(base + c[1])).header(WARMUP, "1");
      b.method(c[0], c[2] == null ? java.net.http.HttpRequest.BodyPublishers.noBody()
          : java.net.http.HttpRequest.BodyPublishers.ofString(c[2]));
      if (c[2] != null) b.header("Content-Type", "application/json");
      client.send(b.build(), java.net.http.HttpResponse.BodyHandlers.discarding());
    }
  }

  static final String WARMUP = "X-Floe-Warmup";

  static String json(String s) {
    StringBuilder b = new StringBuilder("\"");
    for (char ch : s.toCharArray()) {
      if (ch == '"' || ch == '\\') b.append('\\').append(ch);
      else if (ch < 0x20) b.append(String.format("\\u%04x", (int) ch));
      else b.append(ch);
    }
    return b.append('"').toString();
  }

  /** A request whose body was read once and is replayed, and whose path may lose the prefix. */
  static final class Replay extends HttpServletRequestWrapper {
    final byte[] body;
    final String uri;

    Replay(HttpServletRequest req, byte[] body, String uri) {
      super(req);
      this.body = body;
      this.uri = uri;
    }

    @Override
    public String getRequestURI() {
      return uri;
    }

    @Override
    public String getPathInfo() {
      return uri;
    }

    @Override
    public String getServletPath() {
      return "";
    }

    @Override
    public ServletInputStream getInputStream() {
      ByteArrayInputStream in = new ByteArrayInputStream(body);
      return new ServletInputStream() {
        public int read() {
          return in.read();
        }

        public boolean isFinished() {
          return in.available() == 0;
        }

        public boolean isReady() {
          return true;
        }

        public void setReadListener(ReadListener l) {}
      };
    }

    @Override
    public BufferedReader getReader() {
      return new BufferedReader(new InputStreamReader(getInputStream(), StandardCharsets.UTF_8));
    }
  }

  static final class Front extends HttpServlet {
    final RESTCatalogServlet catalog;

    Front(RESTCatalogServlet catalog) {
      this.catalog = catalog;
    }

    void error(HttpServletResponse resp, int code, String type, String message) throws IOException {
      resp.setStatus(code);
      resp.setContentType("application/json");
      resp.getWriter()
          .write("{\"error\":{\"message\":" + json(message) + ",\"type\":" + json(type)
              + ",\"code\":" + code + "}}");
    }

    /** Remembers the status the catalog servlet set, for the request log. */
    static final class Status extends jakarta.servlet.http.HttpServletResponseWrapper {
      int status = 200;

      Status(HttpServletResponse r) {
        super(r);
      }

      @Override
      public void setStatus(int sc) {
        if (!isCommitted()) status = sc; // later calls no longer reach the client
        super.setStatus(sc);
      }

      @Override
      public void sendError(int sc) throws IOException {
        status = sc;
        super.sendError(sc);
      }

      @Override
      public void sendError(int sc, String msg) throws IOException {
        status = sc;
        super.sendError(sc, msg);
      }
    }

    @Override
    protected void service(HttpServletRequest req, HttpServletResponse resp)
        throws IOException, jakarta.servlet.ServletException {
      byte[] body = req.getInputStream().readAllBytes();
      String uri = req.getRequestURI();
      String auth = "none";
      int status;
      if (req.getHeader(WARMUP) != null && req.getRemoteAddr().equals("127.0.0.1")) {
        catalog.service(new Replay(req, body, uri), resp);
        return;
      }
      if (uri.equals("/__test__/vend") && req.getRemoteAddr().equals("127.0.0.1")) {
        vend = new String(body, StandardCharsets.UTF_8).trim().split(":", 3);
        resp.setStatus(204);
        return;
      }
      try {
        if (uri.equals("/v1/oauth/tokens")) {
          status = token(req, body, resp);
          auth = "token-endpoint";
        } else {
          String header = req.getHeader("Authorization");
          if (clientId != null || staticToken != null) {
            String t = header != null && header.startsWith("Bearer ") ? header.substring(7) : null;
            Long expires = t == null ? null : tokens.get(t);
            boolean ok =
                t != null
                    && ((staticToken != null && staticToken.equals(t))
                        || (expires != null && expires > System.currentTimeMillis()));
            auth = t == null ? "none" : staticToken != null && staticToken.equals(t) ? "bearer" : "bearer:" + tokenNumbers.getOrDefault(t, 0);
            if (!ok) {
              error(resp, 401, "NotAuthorizedException", "Not authorized: missing or expired token");
              status = 401;
              logLine(req, uri, auth, 401);
              return;
            }
          } else if (sigv4 != null) {
            String problem = verifySigV4(req, body, uri);
            auth = "sigv4";
            if (problem != null) {
              error(resp, 403, "NotAuthorizedException", "SigV4: " + problem);
              logLine(req, uri, auth + ":bad", 403);
              return;
            }
          }
          if (prefix != null && uri.equals("/v1/config")) {
            resp.setStatus(200);
            resp.setContentType("application/json");
            resp.getWriter()
                .write("{\"defaults\":{},\"overrides\":{\"prefix\":" + json(prefix) + "}}");
            status = 200;
          } else {
            String inner = uri;
            if (prefix != null) {
              String head = "/v1/" + prefix + "/";
              if (!uri.startsWith(head)) {
                error(resp, 404, "NoSuchPathException", "path without the prefix: " + uri);
                logLine(req, uri, auth, 404);
                return;
              }
              inner = "/v1/" + uri.substring(head.length());
            }
            boolean delegate =
                vend != null && "vended-credentials".equals(req.getHeader("X-Iceberg-Access-Delegation"))
                    && isTableLoadOrCreate(req.getMethod(), inner);
            if (delegate) {
              Capture captured = new Capture(resp);
              try {
                catalog.service(new Replay(req, body, inner), captured);
              } catch (RuntimeException e) {
                // The servlet writes an error answer and then throws, which
                // a committed response would have swallowed: keep the answer.
                if (captured.bytes().length == 0) throw e;
              }
              status = captured.status;
              byte[] out = captured.bytes();
              if (status == 200) {
                String[] used = new String[1];
                out = withVendedCredentials(out, used);
                auth = auth + "+vended:" + used[0];
              }
              resp.setContentLength(out.length);
              resp.getOutputStream().write(out);
            } else {
              Status captured = new Status(resp);
              catalog.service(new Replay(req, body, inner), captured);
              status = captured.status;
            }
          }
        }
      } catch (RuntimeException e) {
        error(resp, 500, e.getClass().getSimpleName(), String.valueOf(e.getMessage()));
        status = 500;
      }
      logLine(req, uri, auth, status);
    }

    /** GET /v1/namespaces/{ns}/tables/{t} (load) or POST /v1/namespaces/{ns}/tables (create). */
    static boolean isTableLoadOrCreate(String method, String path) {
      String[] seg = path.split("/");
      // "", "v1", "namespaces", ns, "tables"[, t]
      if (seg.length < 5 || !seg[2].equals("namespaces") || !seg[4].equals("tables")) return false;
      return (method.equals("GET") && seg.length == 6) || (method.equals("POST") && seg.length == 5);
    }

    /** The load result with the vended credentials in `config` and `storage-credentials`. */
    static byte[] withVendedCredentials(byte[] answer, String[] usedKey) throws IOException {
      String[] v = vend.clone();
      if (vendRotate) {
        int n = vendCount.incrementAndGet();
        v[0] = v[0] + "-" + n;
        v[1] = v[1] + "-" + n;
      }
      com.fasterxml.jackson.databind.node.ObjectNode root =
          (com.fasterxml.jackson.databind.node.ObjectNode) mapper.readTree(answer);
      com.fasterxml.jackson.databind.node.ObjectNode creds = mapper.createObjectNode();
      usedKey[0] = v[0];
      creds.put("s3.access-key-id", v[0]);
      creds.put("s3.secret-access-key", v[1]);
      if (v.length > 2 && !v[2].isEmpty()) creds.put("s3.session-token", v[2]);
      creds.put("s3.session-token-expires-at-ms", String.valueOf(System.currentTimeMillis() + vendTtlMs));
      creds.put("client.region", "us-east-1");
      if (vendEndpoint != null) {
        creds.put("s3.endpoint", vendEndpoint);
        creds.put("s3.path-style-access", "true");
      }
      com.fasterxml.jackson.databind.node.ObjectNode config =
          root.has("config") ? (com.fasterxml.jackson.databind.node.ObjectNode) root.get("config") : root.putObject("config");
      config.setAll(creds);
      String location = root.path("metadata").path("location").asText("");
      String bucket = location.replaceFirst("^(s3[an]?://[^/]+/).*$", "$1");
      com.fasterxml.jackson.databind.node.ObjectNode entry = mapper.createObjectNode();
      entry.put("prefix", bucket);
      entry.set("config", creds.deepCopy());
      root.putArray("storage-credentials").add(entry);
      return mapper.writeValueAsBytes(root);
    }

    int token(HttpServletRequest req, byte[] body, HttpServletResponse resp) throws IOException {
      Map<String, String> form = new HashMap<>();
      for (String pair : new String(body, StandardCharsets.UTF_8).split("&")) {
        int eq = pair.indexOf('=');
        if (eq > 0)
          form.put(
              URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
              URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
      }
      boolean ok =
          clientId != null
              && "client_credentials".equals(form.get("grant_type"))
              && clientId.equals(form.get("client_id"))
              && clientSecret.equals(form.get("client_secret"));
      resp.setContentType("application/json");
      if (!ok) {
        resp.setStatus(401);
        resp.getWriter().write("{\"error\":\"invalid_client\",\"error_description\":\"bad client credentials\"}");
        return 401;
      }
      byte[] raw = new byte[16];
      random.nextBytes(raw);
      StringBuilder t = new StringBuilder("tok-");
      for (byte x : raw) t.append(String.format("%02x", x));
      String token = t.toString();
      // --token-real-ttl-ms: the first token dies early (a revoked token).
      boolean first = tokenNumbers.isEmpty();
      tokens.put(token, System.currentTimeMillis() + (first && tokenRealTtlMs >= 0 ? tokenRealTtlMs : tokenTtl * 1000));
      tokenNumbers.put(token, tokenNumbers.size() + 1);
      resp.setStatus(200);
      resp.getWriter()
          .write("{\"access_token\":\"" + token + "\",\"token_type\":\"bearer\",\"expires_in\":"
              + tokenTtl + ",\"issued_token_type\":\"urn:ietf:params:oauth:token-type:access_token\"}");
      if (log != null)
        log.println("{\"event\":\"token_issued\",\"number\":" + tokenNumbers.get(token)
            + ",\"scope\":" + json(form.getOrDefault("scope", "")) + "}");
      return 200;
    }

    synchronized void logLine(HttpServletRequest req, String uri, String auth, int status) {
      if (log == null) return;
      StringBuilder b = new StringBuilder("{\"event\":\"request\",\"method\":");
      b.append(json(req.getMethod())).append(",\"path\":").append(json(uri));
      b.append(",\"query\":").append(json(req.getQueryString() == null ? "" : req.getQueryString()));
      b.append(",\"auth\":").append(json(auth)).append(",\"status\":").append(status);
      b.append(",\"headers\":{");
      boolean first = true;
      for (String name : Collections.list(req.getHeaderNames())) {
        String lower = name.toLowerCase(Locale.ROOT);
        if (lower.equals("authorization") || lower.equals("x-amz-security-token")) continue;
        if (!first) b.append(',');
        first = false;
        b.append(json(lower)).append(':').append(json(req.getHeader(name)));
      }
      b.append("}}");
      log.println(b);
    }
  }

  /** A response whose body is kept back (to be rewritten), with its status. */
  static final class Capture extends jakarta.servlet.http.HttpServletResponseWrapper {
    int status = 200;
    final java.io.ByteArrayOutputStream buffer = new java.io.ByteArrayOutputStream();
    PrintWriter writer;

    Capture(HttpServletResponse r) {
      super(r);
    }

    /** Once the body has begun, the status is fixed (as on a committed response). */
    boolean committed() {
      if (writer != null) writer.flush();
      return buffer.size() > 0;
    }

    @Override
    public void setStatus(int sc) {
      if (committed()) return;
      status = sc;
      super.setStatus(sc);
    }

    @Override
    public void sendError(int sc) {
      status = sc;
      super.setStatus(sc);
    }

    @Override
    public void sendError(int sc, String msg) {
      status = sc;
      super.setStatus(sc);
    }

    @Override
    public void setContentLength(int len) {}

    @Override
    public void setContentLengthLong(long len) {}

    @Override
    public jakarta.servlet.ServletOutputStream getOutputStream() {
      return new jakarta.servlet.ServletOutputStream() {
        public void write(int b) {
          buffer.write(b);
        }

        public boolean isReady() {
          return true;
        }

        public void setWriteListener(jakarta.servlet.WriteListener l) {}
      };
    }

    @Override
    public PrintWriter getWriter() {
      if (writer == null)
        writer = new PrintWriter(new java.io.OutputStreamWriter(buffer, StandardCharsets.UTF_8), true);
      return writer;
    }

    @Override
    public void flushBuffer() {
      if (writer != null) writer.flush();
    }

    byte[] bytes() {
      if (writer != null) writer.flush();
      return buffer.toByteArray();
    }
  }

  static String hex(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (byte x : b) s.append(String.format("%02x", x));
    return s.toString();
  }

  static byte[] hmac(byte[] key, String data) throws Exception {
    Mac mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    return mac.doFinal(data.getBytes(StandardCharsets.UTF_8));
  }

  static String encode(String s, boolean slash) {
    StringBuilder b = new StringBuilder();
    for (byte x : s.getBytes(StandardCharsets.UTF_8)) {
      char ch = (char) (x & 0xff);
      if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')
          || ch == '-' || ch == '_' || ch == '.' || ch == '~' || (ch == '/' && !slash))
        b.append(ch);
      else b.append(String.format("%%%02X", x & 0xff));
    }
    return b.toString();
  }

  /** AWS Signature Version 4 as AWS checks it: null when the signature is right. */
  static String verifySigV4(HttpServletRequest req, byte[] body, String rawUri) {
    try {
      String header = req.getHeader("Authorization");
      if (header == null || !header.startsWith("AWS4-HMAC-SHA256 ")) return "no AWS4-HMAC-SHA256 authorization";
      Map<String, String> parts = new HashMap<>();
      for (String p : header.substring(17).split(",")) {
        String[] kv = p.trim().split("=", 2);
        parts.put(kv[0], kv[1]);
      }
      String[] cred = parts.get("Credential").split("/");
      String region = sigv4[0], service = sigv4[1], key = sigv4[2], secret = sigv4[3];
      if (!cred[0].equals(key)) return "unknown access key";
      if (!cred[2].equals(region) || !cred[3].equals(service) || !cred[4].equals("aws4_request"))
        return "scope " + cred[2] + "/" + cred[3] + " is not " + region + "/" + service;
      String amzDate = req.getHeader("x-amz-date");
      if (amzDate == null || !amzDate.startsWith(cred[1])) return "x-amz-date missing or not the scope's date";
      String[] signed = parts.get("SignedHeaders").split(";");
      StringBuilder canon = new StringBuilder();
      canon.append(req.getMethod()).append('\n');
      // Non-S3 services: the path's segments are encoded again (already-encoded once on the wire).
      StringBuilder path = new StringBuilder();
      for (String seg : rawUri.split("/", -1)) {
        if (path.length() > 0 || rawUri.startsWith("/")) path.append('/');
        path.append(encode(seg, true));
      }
      String canonicalPath = path.toString().replaceFirst("^//", "/");
      canon.append(canonicalPath).append('\n');
      TreeMap<String, String> query = new TreeMap<>();
      String qs = req.getQueryString();
      if (qs != null && !qs.isEmpty())
        for (String pair : qs.split("&")) {
          String[] kv = pair.split("=", 2);
          query.put(
              encode(URLDecoder.decode(kv[0], StandardCharsets.UTF_8), true),
              encode(URLDecoder.decode(kv.length > 1 ? kv[1] : "", StandardCharsets.UTF_8), true));
        }
      List<String> q = new ArrayList<>();
      for (Map.Entry<String, String> e : query.entrySet()) q.add(e.getKey() + "=" + e.getValue());
      canon.append(String.join("&", q)).append('\n');
      for (String h : signed) {
        String v = req.getHeader(h);
        if (v == null) return "signed header " + h + " missing";
        canon.append(h).append(':').append(v.trim().replaceAll(" +", " ")).append('\n');
      }
      canon.append('\n').append(String.join(";", signed)).append('\n');
      canon.append(hex(MessageDigest.getInstance("SHA-256").digest(body)));
      String scope = cred[1] + "/" + region + "/" + service + "/aws4_request";
      String toSign =
          "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n"
              + hex(MessageDigest.getInstance("SHA-256").digest(canon.toString().getBytes(StandardCharsets.UTF_8)));
      byte[] k = hmac(("AWS4" + secret).getBytes(StandardCharsets.UTF_8), cred[1]);
      k = hmac(k, region);
      k = hmac(k, service);
      k = hmac(k, "aws4_request");
      String expected = hex(hmac(k, toSign));
      if (!expected.equals(parts.get("Signature"))) return "signature does not match";
      return null;
    } catch (Exception e) {
      return "malformed: " + e;
    }
  }
}
