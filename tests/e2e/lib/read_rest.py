"""Reads an Iceberg table through a REST catalog with PyIceberg's REST
client and, with --spark, with Spark's (Iceberg's SparkCatalog, type rest).
Prints one JSON object per engine: {"engine", "rows", "sum"} where sum is
the sum of the given long/int column.

  read_rest.py URI NAMESPACE TABLE COLUMN [--spark JARS_DIR]
"""
import glob
import json
import sys


def pyiceberg_read(uri, ns, table, column):
    from pyiceberg.catalog.rest import RestCatalog

    catalog = RestCatalog("floe_rest", uri=uri)
    arrow = catalog.load_table(f"{ns}.{table}").scan().to_arrow()
    values = arrow.column(column).to_pylist()
    return {"engine": "pyiceberg", "rows": arrow.num_rows, "sum": sum(v for v in values if v is not None)}


def spark_read(uri, ns, table, column, jars_dir):
    from pyspark.sql import SparkSession

    jars = ",".join(sorted(glob.glob(f"{jars_dir}/*.jar")))
    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.jars", jars)
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.catalog.rest", "org.apache.iceberg.spark.SparkCatalog")
        .config("spark.sql.catalog.rest.type", "rest")
        .config("spark.sql.catalog.rest.uri", uri)
        .getOrCreate()
    )
    try:
        row = spark.sql(f"SELECT count(*) AS n, sum({column}) AS s FROM rest.{ns}.{table}").collect()[0]
        return {"engine": "spark", "rows": int(row["n"]), "sum": int(row["s"] or 0)}
    finally:
        spark.stop()


def main():
    uri, ns, table, column = sys.argv[1:5]
    print(json.dumps(pyiceberg_read(uri, ns, table, column)), flush=True)
    if len(sys.argv) > 6 and sys.argv[5] == "--spark":
        print(json.dumps(spark_read(uri, ns, table, column, sys.argv[6])), flush=True)


if __name__ == "__main__":
    main()
