#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine (as root): installs
# Debian's slurm-wlm and munge, starts munged, slurmctld and slurmd with a
# minimal configuration (no cgroup plugins), submits study.sbatch as a
# six-task array (tiny preset, one epoch), waits, and checks that the
# merged summary has one row per model. The daemons are stopped by their
# process ids at the end. Run by .ci/run; SLURM_TEST=0 skips it.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
if [ "${SLURM_TEST:-1}" = 0 ]; then echo "slurm test: skipped (SLURM_TEST=0)"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "slurm test: needs root to install and run slurm-wlm and munge" >&2; exit 1; fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi
work=$(mktemp -d /tmp/vertebra-slurm.XXXXXX)
chmod 755 "$work" # munged runs as munge and must reach its folder
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/slurmctld.pid" ] && kill "$(cat "$work/slurmctld.pid")" 2>/dev/null || true
  [ -f "$work/slurmd.pid" ] && kill "$(cat "$work/slurmd.pid")" 2>/dev/null || true
  [ -f "$work/munged.pid" ] && kill "$(cat "$work/munged.pid")" 2>/dev/null || true
}
trap cleanup EXIT

# munge: a fresh key, its own socket and pid file under $work.
mkdir -p "$work/munge"
dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 status=none
chown -R munge:munge "$work/munge"
chmod 700 "$work/munge"; chmod 400 "$work/munge/munge.key"
sock="$work/munge/munge.socket"
runuser -u munge -- /usr/sbin/munged --key-file="$work/munge/munge.key" --socket="$sock" \
  --pid-file="$work/munge/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed" --force
cp "$work/munge/munged.pid" "$work/munged.pid"

host=$(hostname -s)
mem=$(( $(free -m | awk '/^Mem:/ {print $2}') * 9 / 10 ))
mkdir -p "$work/spool/ctld" "$work/spool/d"
cat > "$work/slurm.conf" <<CONF
ClusterName=vertebra
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
AuthInfo=socket=$sock
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
StateSaveLocation=$work/spool/ctld
SlurmdSpoolDir=$work/spool/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$work/slurm.conf"
slurmctld
slurmd
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo

go build -o "$work/all" ./experiments/all
out="$work/study"
echo "submitting the job array"
STUDY_BIN="$work/all" STUDY_OUT="$out" sbatch --wait --chdir="$work" --cpus-per-task=1 --time=20:00 \
  "$repo/scripts/slurm/study.sbatch" --preset tiny --num_epochs 1 --synthetic_studies 8 --batch_size 16
summary="$out/results/model_performance_summary.csv"
rows=$(( $(wc -l < "$summary") - 1 ))
cat "$summary" | cut -d, -f1-4
for f in "$work"/slurm-*.out; do echo "== $f"; tail -3 "$f"; done
if [ "$rows" != 6 ]; then echo "slurm test: $rows summary rows, want 6" >&2; exit 1; fi
echo "slurm test: six array tasks merged six rows into one summary"
