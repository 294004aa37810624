"""Reads Iceberg tables through a REST catalog with PyIceberg's REST client
and, with --spark, with Spark's (Iceberg's SparkCatalog, type rest), one
Spark session for all the tables. Prints one JSON object per engine and
table: {"engine", "table", "rows", "sum", "keys"} where sum is the sum of
the given long/int column and keys its values, sorted.

  read_rest.py URI NAMESPACE TABLE COLUMN [--spark JARS_DIR]
  read_rest.py URI NAMESPACE TABLE=COLUMN... [--spark JARS_DIR]
      [--s3-endpoint URL --s3-credentials KEY:SECRET]

With --s3-endpoint the tables' files are on an S3 server: PyIceberg reads
them through pyarrow's S3 file system, Spark through Iceberg's S3FileIO,
both path-style with the given static credentials (the catalog vends none).
"""
import argparse
import glob
import json


def s3_properties(endpoint, credentials):
    if not endpoint:
        return {}
    key, secret = credentials.split(":", 1)
    return {
        "s3.endpoint": endpoint,
        "s3.access-key-id": key,
        "s3.secret-access-key": secret,
        "s3.region": "us-east-1",
        "client.region": "us-east-1",
        "s3.path-style-access": "true",
        "s3.force-virtual-addressing": "false",
    }


def summary(engine, table, values):
    present = [v for v in values if v is not None]
    return {"engine": engine, "table": table, "rows": len(values), "sum": sum(present),
            "keys": sorted(present)}


def pyiceberg_read(uri, ns, tables, props):
    from pyiceberg.catalog.rest import RestCatalog

    catalog = RestCatalog("floe_rest", uri=uri, **props)
    for table, column in tables:
        arrow = catalog.load_table(f"{ns}.{table}").scan().to_arrow()
        yield summary("pyiceberg", table, arrow.column(column).to_pylist())


def spark_read(uri, ns, tables, jars_dir, props):
    from pyspark.sql import SparkSession

    jars = ",".join(sorted(glob.glob(f"{jars_dir}/*.jar")))
    builder = (
        SparkSession.builder.master("local[1]")
        .config("spark.jars", jars)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.catalog.rest", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.rest.type", "rest")
        .config("spark.sql.catalog.rest.uri", uri)
    )
    if props:
        builder = builder.config("spark.sql.catalog.rest.io-impl", "org.apache.iceberg.aws.s3.S3FileIO")
        for k in ("s3.endpoint", "s3.access-key-id", "s3.secret-access-key", "s3.path-style-access",
                  "client.region"):
            builder = builder.config(f"spark.sql.catalog.rest.{k}", props[k])
    spark = builder.getOrCreate()
    try:
        for table, column in tables:
            values = [r[0] for r in spark.sql(f"SELECT {column} FROM rest.{ns}.{table}").collect()]
            yield summary("spark", table, [int(v) if v is not None else None for v in values])
    finally:
        spark.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("uri")
    ap.add_argument("ns")
    ap.add_argument("tables", nargs="+")
    ap.add_argument("--spark", default=None)
    ap.add_argument("--s3-endpoint", default=None)
    ap.add_argument("--s3-credentials", default=None)
    args = ap.parse_args()
    if len(args.tables) == 2 and "=" not in args.tables[0]:
        tables = [tuple(args.tables)]
    else:
        tables = [tuple(t.split("=", 1)) for t in args.tables]
    props = s3_properties(args.s3_endpoint, args.s3_credentials)
    for line in pyiceberg_read(args.uri, args.ns, tables, props):
        print(json.dumps(line), flush=True)
    if args.spark:
        for line in spark_read(args.uri, args.ns, tables, args.spark, props):
            print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
