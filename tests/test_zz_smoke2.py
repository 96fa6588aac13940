import subprocess, sys
def test_clients(live_server):
    url = live_server + "/ogc"
    code = f"""
import pyogrio
df = pyogrio.read_dataframe("OAPIF:{url}", layer="compounds")
print(len(df), df.crs, df.columns.tolist(), df.geometry.iloc[0].wkt[:100])
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={"CPL_DEBUG": "ON", "PATH": "/usr/bin"})
    print(r.stdout, r.stderr[-3000:])
