#!/usr/bin/env python3
"""Build the synthetic CSV files from the live 2.6.12 capture hap26_show_stat.csv.

hap26_show_stat_reversed.csv: the same rows with the column order reversed, so
every required column sits at a different position.

hap34_show_stat.csv: see below.

HAProxy 3.4 was not installed, so this is a synthetic 3.4 "show stat": the
header is v3.4.0's proxy stats columns in enum order (include/haproxy/stats-t.h
enum stat_idx_px, names from src/stats-proxy.c stat_cols_px[]), then "-", then
the h2 and h1 module columns (src/mux_h2.c, src/mux_h1.c; a no-SSL build has no
ssl_* columns). Values are copied by column name from the 2.6.12 rows; columns
new in 3.x get "0" (counters) or "" (srid on non-server rows, proto). The
"drained" backend gets 3.4's " (UNPUB)" status suffix. Positions of status,
act, bck, weight, type stay the same (0-102 are unchanged), but everything
after uweight moves, so this proves lookup by name for the module columns
and the field count.

Run from this directory: python3 gen_hap34.py
"""
import csv, io

COLS_34 = (
    "pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,"
    "econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,"
    "downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,"
    "rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,"
    "hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,"
    "req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,"
    "last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,"
    "agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,"
    "agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,"
    "conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,"
    "cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,"
    "rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,"
    "need_conn_est,uweight,agg_server_status,agg_server_check_status,"
    "agg_check_status,srid,sess_other,h1sess,h2sess,h3sess,req_other,h1req,"
    "h2req,h3req,proto,priv_idle_cur,reqbin,reqbout,resbin,resbout"
).split(",")
MODS_34 = (
    "h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,"
    "h2_goaway_rcvd,h2_detected_conn_protocol_errors,"
    "h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,"
    "h2_open_connections,h2_backend_open_streams,h2_total_connections,"
    "h2_backend_total_streams,h1_open_connections,h1_open_streams,"
    "h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,"
    "h1_spliced_bytes_in,h1_spliced_bytes_out"
).split(",")
assert len(COLS_34) == 118


def enc(v):
    # HAProxy's csv_enc_append(): quote only when needed, double quotes.
    if any(c in v for c in ',"\r\n'):
        return '"' + v.replace('"', '""') + '"'
    return v


def main():
    text = open("hap26_show_stat.csv", newline="").read()
    lines = text.rstrip("\n").split("\n")
    hdr = lines[0][2:].rstrip(",").split(",")
    out = ["# " + "".join(c + "," for c in COLS_34 + ["-"] + MODS_34)]
    for row in csv.reader(io.StringIO("\n".join(lines[1:]) + "\n")):
        assert row[-1] == "" and len(row) == len(hdr) + 1
        old = dict(zip(hdr, row[:-1]))
        if old["pxname"] == "drained" and old["svname"] == "BACKEND":
            old["status"] += " (UNPUB)"
        vals = []
        for c in COLS_34 + ["-"] + MODS_34:
            if c in old:
                vals.append(old[c])
            elif c == "srid":
                vals.append("0" if old["type"] == "2" else "")
            elif c == "proto" or c == "-":
                vals.append("")
            else:
                vals.append("0")
        out.append("".join(enc(v) + "," for v in vals))
    open("hap34_show_stat.csv", "w", newline="").write("\n".join(out) + "\n\n")

    rev = ["# " + "".join(c + "," for c in reversed(hdr))]
    for row in csv.reader(io.StringIO("\n".join(lines[1:]) + "\n")):
        rev.append("".join(enc(v) + "," for v in reversed(row[:-1])))
    open("hap26_show_stat_reversed.csv", "w", newline="").write(
        "\n".join(rev) + "\n\n")


main()
