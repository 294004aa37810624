/*
 * Iceberg Java's strict reading of tables floe writes.
 *
 * For each table (given by its current metadata file) this program, with
 * iceberg-core, iceberg-parquet and iceberg-data:
 *   - parses every *.metadata.json of the table's metadata folder with
 *     TableMetadataParser;
 *   - reads every snapshot's manifest list and every manifest with
 *     ManifestFiles, and checks against what the files really hold:
 *     manifest lengths, added/existing file and row counts, sequence numbers
 *     (manifest, entries, snapshots), partition field summaries (null, NaN,
 *     lower and upper bounds), each content file's size on disk, its record
 *     count against the Parquet footer, and its column metrics (value, null
 *     and NaN counts, lower and upper bounds as Iceberg's default metrics
 *     mode truncate(16) computes them) against the rows of the file;
 *   - reads the current snapshot's rows with IcebergGenerics (deletes
 *     applied) and prints them as one JSON line.
 * Any exception or disagreement is printed as "FAIL <table>: <what>" on
 * stderr, and the exit status is 1.
 *
 * Usage: java -cp ... dev.floe.enginecheck.CheckTables METADATA_FILE...
 */
package dev.floe.enginecheck;

import java.io.File;
import java.math.BigDecimal;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;
import org.apache.iceberg.BaseTable;
import org.apache.iceberg.ContentFile;
import org.apache.iceberg.DataFile;
import org.apache.iceberg.DeleteFile;
import org.apache.iceberg.FileContent;
import org.apache.iceberg.ManifestContent;
import org.apache.iceberg.ManifestFile;
import org.apache.iceberg.ManifestFiles;
import org.apache.iceberg.ManifestReader;
import org.apache.iceberg.PartitionSpec;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Snapshot;
import org.apache.iceberg.StaticTableOperations;
import org.apache.iceberg.StructLike;
import org.apache.iceberg.Table;
import org.apache.iceberg.TableMetadata;
import org.apache.iceberg.TableMetadataParser;
import org.apache.iceberg.data.IcebergGenerics;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.expressions.Literal;
import org.apache.iceberg.hadoop.HadoopFileIO;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.parquet.Parquet;
import org.apache.iceberg.types.Comparators;
import org.apache.iceberg.types.Conversions;
import org.apache.iceberg.types.Type;
import org.apache.iceberg.types.Types;
import org.apache.iceberg.util.BinaryUtil;
import org.apache.iceberg.util.UnicodeUtil;
import org.apache.parquet.hadoop.ParquetFileReader;
import org.apache.parquet.hadoop.util.HadoopInputFile;

public final class CheckTables {
  private static final int TRUNCATE = 16;
  private static final Configuration CONF = new Configuration();
  private static final HadoopFileIO IO = new HadoopFileIO(CONF);

  private int failures = 0;
  private int checks = 0;
  private String table = "";

  public static void main(String[] args) throws Exception {
    CheckTables c = new CheckTables();
    for (String location : args) {
      c.table = location;
      try {
        c.checkTable(location);
      } catch (Exception | AssertionError e) {
        c.fail("exception: " + e);
        e.printStackTrace(System.err);
      }
    }
    System.err.println("floe-engine-check: " + c.checks + " checks, " + c.failures + " failures");
    System.exit(c.failures == 0 ? 0 : 1);
  }

  private void fail(String what) {
    failures++;
    System.err.println("FAIL " + table + ": " + what);
  }

  private void check(boolean ok, String what) {
    checks++;
    if (!ok) fail(what);
  }

  private static String local(String path) {
    return path.startsWith("file:") ? new Path(path).toUri().getPath() : path;
  }

  private void checkTable(String location) throws Exception {
    File mdDir = new File(local(location)).getParentFile();
    File[] files = mdDir.listFiles((d, n) -> n.endsWith(".metadata.json"));
    check(files != null && files.length > 0, "no metadata files in " + mdDir);
    for (File f : files) {
      TableMetadata m = TableMetadataParser.read(IO, f.getPath());
      check(m.formatVersion() >= 1, f + ": format version");
    }
    TableMetadata md = TableMetadataParser.read(IO, location);
    Map<Integer, PartitionSpec> specs = md.specsById();
    Schema schema = md.schema();

    Snapshot prev = null;
    long lastSeq = -1;
    for (Snapshot s : md.snapshots()) {
      check(s.sequenceNumber() <= md.lastSequenceNumber(), "snapshot " + s.snapshotId() + " sequence number above the table's");
      if (s.parentId() != null && md.snapshot(s.parentId()) != null)
        check(md.snapshot(s.parentId()).sequenceNumber() < s.sequenceNumber(),
            "snapshot " + s.snapshotId() + " sequence number not above its parent's");
      check(s.sequenceNumber() > lastSeq, "snapshot sequence numbers not increasing in the log");
      lastSeq = s.sequenceNumber();
      for (ManifestFile m : s.allManifests(IO)) checkManifest(md, s, m, specs, schema);
      prev = s;
    }

    // The rows of the current snapshot, deletes applied.
    Table t = new BaseTable(new StaticTableOperations(location, IO), location);
    StringBuilder out = new StringBuilder();
    out.append("{\"metadata\":").append(json(location)).append(",\"columns\":[");
    List<Types.NestedField> cols = schema.columns();
    for (int i = 0; i < cols.size(); i++) out.append(i > 0 ? "," : "").append(json(cols.get(i).name()));
    out.append("],\"rows\":[");
    int n = 0;
    if (md.currentSnapshot() != null) {
      try (CloseableIterable<Record> rows = IcebergGenerics.read(t).build()) {
        for (Record r : rows) {
          out.append(n++ > 0 ? "," : "").append("[");
          for (int i = 0; i < cols.size(); i++) out.append(i > 0 ? "," : "").append(value(r.get(i)));
          out.append("]");
        }
      }
    }
    out.append("]}");
    System.out.println(out);
    checks++;
  }

  private final Map<String, Boolean> seenManifests = new HashMap<>();

  private void checkManifest(TableMetadata md, Snapshot s, ManifestFile m, Map<Integer, PartitionSpec> specs,
                             Schema schema) throws Exception {
    String where = "manifest " + m.path();
    check(new File(local(m.path())).length() == m.length(), where + ": length " + m.length() + " but the file has "
        + new File(local(m.path())).length() + " bytes");
    check(specs.containsKey(m.partitionSpecId()), where + ": unknown spec " + m.partitionSpecId());
    check(m.sequenceNumber() <= s.sequenceNumber(), where + ": sequence number above its snapshot's");
    if (seenManifests.put(m.path(), true) != null) return; // entries checked once
    PartitionSpec spec = specs.get(m.partitionSpecId());
    List<ContentFile<?>> live = new ArrayList<>();
    if (m.content() == ManifestContent.DATA) {
      try (ManifestReader<DataFile> r = ManifestFiles.read(m, IO, specs)) {
        for (DataFile f : r) live.add(f.copy());
      }
    } else {
      try (ManifestReader<DeleteFile> r = ManifestFiles.readDeleteManifest(m, IO, specs)) {
        for (DeleteFile f : r) live.add(f.copy());
      }
    }
    long liveRows = 0;
    long minSeq = Long.MAX_VALUE;
    for (ContentFile<?> f : live) {
      liveRows += f.recordCount();
      check(f.dataSequenceNumber() != null && f.dataSequenceNumber() <= m.sequenceNumber(),
          where + ": " + f.location() + " data sequence number " + f.dataSequenceNumber());
      check(f.fileSequenceNumber() != null && f.fileSequenceNumber() >= f.dataSequenceNumber(),
          where + ": " + f.location() + " file sequence number " + f.fileSequenceNumber());
      if (f.dataSequenceNumber() != null) minSeq = Math.min(minSeq, f.dataSequenceNumber());
      checkContentFile(f, spec, schema);
    }
    if (m.addedFilesCount() != null) {
      check(m.addedFilesCount() + m.existingFilesCount() == live.size(),
          where + ": added+existing files " + m.addedFilesCount() + "+" + m.existingFilesCount() + " but "
              + live.size() + " live entries");
      check(m.addedRowsCount() + m.existingRowsCount() == liveRows,
          where + ": added+existing rows " + m.addedRowsCount() + "+" + m.existingRowsCount() + " but "
              + liveRows);
    }
    if (!live.isEmpty())
      check(m.minSequenceNumber() == minSeq, where + ": min sequence number " + m.minSequenceNumber()
          + " but the live entries' minimum is " + minSeq);
    checkPartitionSummaries(m, spec, live, where);
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private void checkPartitionSummaries(ManifestFile m, PartitionSpec spec, List<ContentFile<?>> live, String where) {
    List<ManifestFile.PartitionFieldSummary> sums = m.partitions();
    Types.StructType ptype = spec.partitionType();
    if (ptype.fields().isEmpty()) return;
    check(sums != null && sums.size() == ptype.fields().size(), where + ": partition summaries " + sums);
    if (sums == null) return;
    boolean exact = m.deletedFilesCount() != null && m.deletedFilesCount() == 0;
    for (int i = 0; i < ptype.fields().size(); i++) {
      Type type = ptype.fields().get(i).type();
      Comparator cmp = comparator(type);
      Class<?> cls = spec.javaClasses()[i];
      Object lo = null, hi = null;
      boolean hasNull = false, hasNaN = false;
      for (ContentFile<?> f : live) {
        Object v = f.partition().get(i, cls);
        if (v == null) {
          hasNull = true;
        } else if ((v instanceof Double && ((Double) v).isNaN()) || (v instanceof Float && ((Float) v).isNaN())) {
          hasNaN = true;
        } else {
          if (lo == null || cmp.compare(v, lo) < 0) lo = v;
          if (hi == null || cmp.compare(v, hi) > 0) hi = v;
        }
      }
      ManifestFile.PartitionFieldSummary s = sums.get(i);
      String field = where + ": partition field " + ptype.fields().get(i).name();
      Object slo = s.lowerBound() == null ? null : Conversions.fromByteBuffer(type, s.lowerBound());
      Object shi = s.upperBound() == null ? null : Conversions.fromByteBuffer(type, s.upperBound());
      if (exact) {
        check(s.containsNull() == hasNull, field + ": contains_null " + s.containsNull() + ", files say " + hasNull);
        check(s.containsNaN() == null || s.containsNaN() == hasNaN, field + ": contains_nan " + s.containsNaN());
        check(Objects.equals(slo == null ? null : cmp.compare(slo, lo) == 0, lo == null ? null : true),
            field + ": lower bound " + slo + ", files' minimum " + lo);
        check(Objects.equals(shi == null ? null : cmp.compare(shi, hi) == 0, hi == null ? null : true),
            field + ": upper bound " + shi + ", files' maximum " + hi);
      } else {
        check(!hasNull || s.containsNull(), field + ": contains_null false but a live file has null");
        check(lo == null || (slo != null && cmp.compare(slo, lo) <= 0), field + ": lower bound " + slo + " above " + lo);
        check(hi == null || (shi != null && cmp.compare(shi, hi) >= 0), field + ": upper bound " + shi + " below " + hi);
      }
    }
  }

  private void checkContentFile(ContentFile<?> f, PartitionSpec spec, Schema schema) throws Exception {
    String path = f.location();
    String where = "file " + path;
    File file = new File(local(path));
    check(file.length() == f.fileSizeInBytes(), where + ": file_size_in_bytes " + f.fileSizeInBytes()
        + " but the file has " + file.length());
    check(f.specId() == spec.specId(), where + ": spec id " + f.specId() + " in a manifest of spec " + spec.specId());
    if (f.format() != org.apache.iceberg.FileFormat.PARQUET) return;
    long footerRows;
    try (ParquetFileReader r = ParquetFileReader.open(HadoopInputFile.fromPath(new Path(path), CONF))) {
      footerRows = r.getRecordCount();
    }
    check(footerRows == f.recordCount(), where + ": record_count " + f.recordCount() + " but the Parquet footer has "
        + footerRows);
    if (f.content() == FileContent.DATA) {
      checkMetrics(f, schema, where);
      checkPartitionValues(f, spec, schema, where);
    }
  }

  /**
   * Every row of a data file maps to the file's partition tuple under the
   * spec's transforms, as Iceberg Java computes them (Transform.bind on the
   * source column's type).
   */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private void checkPartitionValues(ContentFile<?> f, PartitionSpec spec, Schema schema, String where)
      throws Exception {
    List<org.apache.iceberg.PartitionField> fields = spec.fields();
    if (fields.isEmpty()) return;
    List<Types.NestedField> cols = new ArrayList<>();
    List<Integer> colOf = new ArrayList<>();
    for (org.apache.iceberg.PartitionField pf : fields) {
      Types.NestedField src = schema.findField(pf.sourceId());
      int k = cols.indexOf(src);
      if (k < 0) {
        cols.add(src);
        k = cols.size() - 1;
      }
      colOf.add(k);
    }
    Schema proj = new Schema(cols);
    Types.StructType ptype = spec.partitionType();
    java.util.function.Function[] fn = new java.util.function.Function[fields.size()];
    for (int i = 0; i < fields.size(); i++) {
      org.apache.iceberg.transforms.Transform t = fields.get(i).transform();
      fn[i] = t.isVoid() ? null : t.bind(cols.get(colOf.get(i)).type());
    }
    long rowNo = 0;
    try (CloseableIterable<Record> rows = Parquet.read(IO.newInputFile(f.location())).project(proj)
        .createReaderFunc(fs -> GenericParquetReaders.buildReader(proj, fs)).build()) {
      for (Record r : rows) {
        for (int i = 0; i < fields.size(); i++) {
          if (fn[i] == null) continue;
          Types.NestedField src = cols.get(colOf.get(i));
          Object v = comparable(src.type(), r.get(colOf.get(i)));
          Object want = v == null ? null : fn[i].apply(v);
          Object got = f.partition().get(i, spec.javaClasses()[i]);
          Type rt = ptype.fields().get(i).type();
          boolean same = want == null || got == null ? want == got : comparator(rt).compare(want, got) == 0;
          check(same, where + ": row " + rowNo + ": partition " + fields.get(i).name() + " is " + show(got)
              + " but " + fields.get(i).transform() + "(" + show(v) + ") = " + show(want));
        }
        rowNo++;
      }
    }
  }

  /** Column metrics of a data file against its rows, read with iceberg-parquet's generic reader. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  private void checkMetrics(ContentFile<?> f, Schema schema, String where) throws Exception {
    Map<Integer, Long> values = f.valueCounts();
    if (values == null) return;
    List<Types.NestedField> cols = new ArrayList<>();
    for (Types.NestedField c : schema.columns())
      if (values.containsKey(c.fieldId()) && c.type().isPrimitiveType()) cols.add(c);
    Schema proj = new Schema(cols);
    int n = cols.size();
    long[] count = new long[n], nulls = new long[n], nans = new long[n];
    Object[] min = new Object[n], max = new Object[n];
    Comparator[] cmp = new Comparator[n];
    for (int i = 0; i < n; i++) cmp[i] = comparator(cols.get(i).type());
    try (CloseableIterable<Record> rows = Parquet.read(IO.newInputFile(f.location())).project(proj)
        .createReaderFunc(fs -> GenericParquetReaders.buildReader(proj, fs)).build()) {
      for (Record r : rows) {
        for (int i = 0; i < n; i++) {
          Object v = r.get(i);
          count[i]++;
          if (v == null) {
            nulls[i]++;
            continue;
          }
          if ((v instanceof Double && ((Double) v).isNaN()) || (v instanceof Float && ((Float) v).isNaN())) {
            nans[i]++;
            continue;
          }
          Object k = comparable(cols.get(i).type(), v);
          if (min[i] == null || cmp[i].compare(k, min[i]) < 0) min[i] = k;
          if (max[i] == null || cmp[i].compare(k, max[i]) > 0) max[i] = k;
        }
      }
    }
    for (int i = 0; i < n; i++) {
      Types.NestedField c = cols.get(i);
      int id = c.fieldId();
      Type type = c.type();
      String col = where + ": column " + c.name() + " (" + type + ")";
      check(values.get(id) == count[i], col + ": value_count " + values.get(id) + ", rows " + count[i]);
      Long nc = f.nullValueCounts() == null ? null : f.nullValueCounts().get(id);
      check(nc != null && nc == nulls[i], col + ": null_value_count " + nc + ", rows " + nulls[i]);
      boolean floating = type.typeId() == Type.TypeID.FLOAT || type.typeId() == Type.TypeID.DOUBLE;
      if (floating) {
        Long nan = f.nanValueCounts() == null ? null : f.nanValueCounts().get(id);
        check(nan != null && nan == nans[i], col + ": nan_value_count " + nan + ", rows " + nans[i]);
      }
      ByteBuffer lb = f.lowerBounds() == null ? null : f.lowerBounds().get(id);
      ByteBuffer ub = f.upperBounds() == null ? null : f.upperBounds().get(id);
      Object lo = lb == null ? null : comparable(type, Conversions.fromByteBuffer(type, lb));
      Object hi = ub == null ? null : comparable(type, Conversions.fromByteBuffer(type, ub));
      if (min[i] == null) {
        check(lo == null && hi == null, col + ": bounds " + lo + ".." + hi + " on a column without values");
        continue;
      }
      Object wantLo = min[i], wantHi = max[i];
      if (type.typeId() == Type.TypeID.STRING) {
        wantLo = UnicodeUtil.truncateStringMin(Literal.of((CharSequence) min[i]), TRUNCATE).value();
        Literal<CharSequence> up = UnicodeUtil.truncateStringMax(Literal.of((CharSequence) max[i]), TRUNCATE);
        wantHi = up == null ? null : up.value();
      } else if (type.typeId() == Type.TypeID.BINARY) {
        wantLo = BinaryUtil.truncateBinaryMin(Literal.of((ByteBuffer) min[i]), TRUNCATE).value();
        Literal<ByteBuffer> up = BinaryUtil.truncateBinaryMax(Literal.of((ByteBuffer) max[i]), TRUNCATE);
        wantHi = up == null ? null : up.value();
      }
      if (floating) {
        // Parquet writes -0.0 as the min and +0.0 as the max of a zero, so
        // a float bound must bracket the values; NaN is never a bound.
        check(lo != null && !isNaN(lo) && cmp[i].compare(lo, min[i]) <= 0, col + ": lower bound " + lo + ", min " + min[i]);
        check(hi != null && !isNaN(hi) && cmp[i].compare(hi, max[i]) >= 0, col + ": upper bound " + hi + ", max " + max[i]);
        check(lo == null || Math.abs(((Number) lo).doubleValue()) == Math.abs(((Number) min[i]).doubleValue()),
            col + ": lower bound " + lo + " is not the minimum " + min[i]);
        check(hi == null || Math.abs(((Number) hi).doubleValue()) == Math.abs(((Number) max[i]).doubleValue()),
            col + ": upper bound " + hi + " is not the maximum " + max[i]);
        continue;
      }
      check(lo != null && cmp[i].compare(lo, wantLo) == 0, col + ": lower bound " + show(lo) + ", Iceberg's is " + show(wantLo));
      if (wantHi == null)
        check(hi == null, col + ": upper bound " + show(hi) + " where Iceberg writes none");
      else
        check(hi != null && cmp[i].compare(hi, wantHi) == 0, col + ": upper bound " + show(hi) + ", Iceberg's is " + show(wantHi));
      if (type.typeId() == Type.TypeID.DECIMAL && lo != null)
        check(((BigDecimal) lo).scale() == ((Types.DecimalType) type).scale(), col + ": lower bound scale");
    }
  }

  /**
   * Iceberg's comparator for a type, except uuid: Comparators.forType
   * orders UUIDs as Java does (signed 64-bit halves), while Parquet's
   * statistics, and so the bounds Iceberg Java's own Parquet writer
   * records, order a uuid's 16 bytes unsigned, as the Iceberg spec's
   * big-endian bytes do. floe follows the bytes.
   */
  @SuppressWarnings("rawtypes")
  private static Comparator comparator(Type type) {
    if (type.typeId() == Type.TypeID.UUID) {
      return (a, b) -> {
        UUID x = (UUID) a, y = (UUID) b;
        int c = Long.compareUnsigned(x.getMostSignificantBits(), y.getMostSignificantBits());
        return c != 0 ? c : Long.compareUnsigned(x.getLeastSignificantBits(), y.getLeastSignificantBits());
      };
    }
    return Comparators.forType(type.asPrimitiveType());
  }

  private static boolean isNaN(Object v) {
    return (v instanceof Double && ((Double) v).isNaN()) || (v instanceof Float && ((Float) v).isNaN());
  }

  /** A generic reader's value as Comparators.forType expects it. */
  private static Object comparable(Type type, Object v) {
    if (v == null) return null;
    switch (type.typeId()) {
      case DATE:
        return v instanceof java.time.LocalDate ? (int) ((java.time.LocalDate) v).toEpochDay() : v;
      case TIME:
        return v instanceof java.time.LocalTime ? ((java.time.LocalTime) v).toNanoOfDay() / 1000 : v;
      case TIMESTAMP:
        if (v instanceof java.time.LocalDateTime)
          return org.apache.iceberg.util.DateTimeUtil.microsFromTimestamp((java.time.LocalDateTime) v);
        if (v instanceof java.time.OffsetDateTime)
          return org.apache.iceberg.util.DateTimeUtil.microsFromTimestamptz((java.time.OffsetDateTime) v);
        return v;
      case FIXED:
        return v instanceof byte[] ? ByteBuffer.wrap((byte[]) v) : v;
      default:
        return v;
    }
  }

  private static String show(Object v) {
    if (v instanceof ByteBuffer) return "0x" + hex((ByteBuffer) v);
    return String.valueOf(v);
  }

  private static String hex(ByteBuffer b) {
    StringBuilder s = new StringBuilder();
    ByteBuffer d = b.duplicate();
    while (d.hasRemaining()) s.append(String.format("%02x", d.get() & 0xff));
    return s.toString();
  }

  private static String json(String s) {
    StringBuilder o = new StringBuilder("\"");
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') o.append('\\').append(c);
      else if (c < 0x20) o.append(String.format("\\u%04x", (int) c));
      else o.append(c);
    }
    return o.append('"').toString();
  }

  /** A value as JSON: numbers and booleans as such, floats as their bits, the rest as text. */
  private static String value(Object v) {
    if (v == null) return "null";
    if (v instanceof Integer || v instanceof Long) return v.toString();
    if (v instanceof Boolean) return v.toString();
    if (v instanceof Float) return json(String.format("f32:%08x", Float.floatToRawIntBits((Float) v)));
    if (v instanceof Double) return json(String.format("f64:%016x", Double.doubleToRawLongBits((Double) v)));
    if (v instanceof BigDecimal) return json(((BigDecimal) v).toPlainString());
    if (v instanceof ByteBuffer) return json(hex((ByteBuffer) v));
    if (v instanceof byte[]) return json(hex(ByteBuffer.wrap((byte[]) v)));
    if (v instanceof UUID) return json(v.toString());
    if (v instanceof List) {
      StringBuilder o = new StringBuilder("[");
      for (Object e : (List<?>) v) o.append(o.length() > 1 ? "," : "").append(value(e));
      return o.append(']').toString();
    }
    if (v instanceof Record) {
      // A struct: an object of its fields by name, in field order.
      Record r = (Record) v;
      StringBuilder o = new StringBuilder("{");
      List<Types.NestedField> fs = r.struct().fields();
      for (int i = 0; i < fs.size(); i++)
        o.append(i > 0 ? "," : "").append(json(fs.get(i).name())).append(':').append(value(r.get(i)));
      return o.append('}').toString();
    }
    if (v instanceof Map) {
      // A map: its entries as [key, value] pairs (keys of any type).
      StringBuilder o = new StringBuilder("[");
      for (Map.Entry<?, ?> e : ((Map<?, ?>) v).entrySet())
        o.append(o.length() > 1 ? "," : "").append('[').append(value(e.getKey())).append(',')
            .append(value(e.getValue())).append(']');
      return o.append(']').toString();
    }
    return json(v.toString());
  }
}
