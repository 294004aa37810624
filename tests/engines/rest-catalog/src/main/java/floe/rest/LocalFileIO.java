package floe.rest;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardOpenOption;
import java.net.URI;
import org.apache.iceberg.exceptions.AlreadyExistsException;
import org.apache.iceberg.exceptions.NotFoundException;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;
import org.apache.iceberg.io.PositionOutputStream;
import org.apache.iceberg.io.SeekableInputStream;

/**
 * The server's file system for a local warehouse: plain java.nio over the
 * paths and file: URIs in table metadata (Hadoop's LocalFileSystem without
 * Hadoop). Metadata files are created, never replaced.
 */
public class LocalFileIO implements FileIO {
  static Path path(String location) {
    if (location.startsWith("file:")) return Paths.get(URI.create(location.startsWith("file:///") ? location : "file://" + location.substring(5)));
    return Paths.get(location);
  }

  @Override
  public InputFile newInputFile(String location) {
    return new Input(location);
  }

  @Override
  public OutputFile newOutputFile(String location) {
    return new Output(location);
  }

  @Override
  public void deleteFile(String location) {
    try {
      Files.deleteIfExists(path(location));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static final class Input implements InputFile {
    private final String location;

    Input(String location) {
      this.location = location;
    }

    @Override
    public long getLength() {
      try {
        return Files.size(path(location));
      } catch (IOException e) {
        throw new NotFoundException(e, "Cannot stat %s", location);
      }
    }

    @Override
    public SeekableInputStream newStream() {
      try {
        RandomAccessFile f = new RandomAccessFile(path(location).toFile(), "r");
        return new SeekableInputStream() {
          @Override
          public long getPos() throws IOException {
            return f.getFilePointer();
          }

          @Override
          public void seek(long pos) throws IOException {
            f.seek(pos);
          }

          @Override
          public int read() throws IOException {
            return f.read();
          }

          @Override
          public int read(byte[] b, int off, int len) throws IOException {
            return f.read(b, off, len);
          }

          @Override
          public void close() throws IOException {
            f.close();
          }
        };
      } catch (IOException e) {
        throw new NotFoundException(e, "Cannot open %s", location);
      }
    }

    @Override
    public String location() {
      return location;
    }

    @Override
    public boolean exists() {
      return Files.exists(path(location));
    }
  }

  static final class Output implements OutputFile {
    private final String location;

    Output(String location) {
      this.location = location;
    }

    private PositionOutputStream open(StandardOpenOption... mode) {
      try {
        Path p = path(location);
        Files.createDirectories(p.getParent());
        java.io.OutputStream out = Files.newOutputStream(p, mode);
        return new PositionOutputStream() {
          private long pos = 0;

          @Override
          public long getPos() {
            return pos;
          }

          @Override
          public void write(int b) throws IOException {
            out.write(b);
            pos++;
          }

          @Override
          public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            pos += len;
          }

          @Override
          public void flush() throws IOException {
            out.flush();
          }

          @Override
          public void close() throws IOException {
            out.close();
          }
        };
      } catch (java.nio.file.FileAlreadyExistsException e) {
        throw new AlreadyExistsException("File already exists: %s", location);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public PositionOutputStream create() {
      return open(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    }

    @Override
    public PositionOutputStream createOrOverwrite() {
      return open(StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
    }

    @Override
    public String location() {
      return location;
    }

    @Override
    public InputFile toInputFile() {
      return new Input(location);
    }
  }
}
