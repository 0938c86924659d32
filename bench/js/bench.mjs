// The end-to-end workload through OneTable JS 2.7.7, the same as the Rust sides run:
// 2,000 creates over 20 partitions, 2,000 gets and 200 finds of 100 items, 16 at a time.
// Prints one JSON line of figures. Run by `cargo run --release --example bench`.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { Table } from 'dynamodb-onetable'

const endpoint = process.env.BENCH_ENDPOINT
const tableName = process.env.BENCH_TABLE
// BENCH_REPEAT repeats the workload (the runs against the stand-in server).
const REPEAT = Number(process.env.BENCH_REPEAT ?? 1)
const CREATES = 2000 * REPEAT, GETS = 2000 * REPEAT, FINDS = 200 * REPEAT, PARTITIONS = 20, WORKERS = 16

const schema = {
    format: 'onetable:1.1.0',
    version: '0.0.1',
    indexes: { primary: { hash: 'pk', sort: 'sk' } },
    models: {
        User: {
            pk: { type: String, value: 'ACCOUNT#${account}' },
            sk: { type: String, value: 'USER#${id}' },
            account: { type: String, required: true },
            id: { type: String, required: true },
            email: { type: String, required: true },
            name: { type: String, required: true },
            age: { type: Number, required: true },
            active: { type: Boolean, required: true },
        },
    },
    params: { isoDates: false, timestamps: false },
}

const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
})
const table = new Table({ client, name: tableName, schema, partial: false })
const User = table.getModel('User')

const user = (i) => ({
    account: `p${i % PARTITIONS}`,
    id: String(i).padStart(6, '0'),
    email: `user${i}@acme.example`,
    name: `User ${i}`,
    age: 20 + (i % 50),
    active: i % 2 == 0,
})

// Runs `count` tasks, `WORKERS` at a time.
async function pool(count, task) {
    let next = 0
    const worker = async () => {
        while (next < count) {
            const i = next++
            await task(i)
        }
    }
    await Promise.all(Array.from({ length: WORKERS }, worker))
}

// Wall-clock and CPU seconds of one phase.
async function timed(count, task) {
    const start = process.hrtime.bigint()
    const cpu = process.cpuUsage()
    await pool(count, task)
    const used = process.cpuUsage(cpu)
    return [Number(process.hrtime.bigint() - start) / 1e9, (used.user + used.system) / 1e6]
}

const cpuStart = process.cpuUsage()
const [createSecs, createCpu] = await timed(CREATES, (i) => User.create(user(i)))
const [getSecs, getCpu] = await timed(GETS, async (i) => {
    const u = user(i)
    const got = await User.get({ account: u.account, id: u.id })
    if (!got) throw new Error(`missing ${u.id}`)
})
const [findSecs, findCpu] = await timed(FINDS, async (i) => {
    const found = await User.find({ account: `p${i % PARTITIONS}` }, { limit: 100 })
    if (found.length != 100) throw new Error(`found ${found.length}`)
})
const cpu = process.cpuUsage(cpuStart)
const cpuMs = (cpu.user + cpu.system) / 1000
console.log(JSON.stringify({
    create_ops_s: CREATES / createSecs,
    get_ops_s: GETS / getSecs,
    find_q_s: FINDS / findSecs,
    create_ops_cpu_s: CREATES / createCpu,
    get_ops_cpu_s: GETS / getCpu,
    find_q_cpu_s: FINDS / findCpu,
    cpu_ms_per_op: cpuMs / (CREATES + GETS + FINDS),
    peak_rss_mb: process.resourceUsage().maxRSS / 1024,
}))
