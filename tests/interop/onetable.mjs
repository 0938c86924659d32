// OneTable JS 2.7.7 driven from the Rust interoperability tests:
//   node onetable.mjs <endpoint> <table> <isoDates 0|1> <nulls 0|1> <command> <json>
// Prints one JSON line: the result, or {"error": code, "message": ..}. Values that JSON
// cannot hold are tagged: {"$date": ms}, {"$bytes": base64}, {"$set": [..]}.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { Table } from 'dynamodb-onetable'
import { Migrate } from 'onetable-migrate'

const [endpoint, tableName, isoDates, nulls, command, json] = process.argv.slice(2)

// The same design as the Rust test schema: two models, a GSI, a packed map field, a
// unique field, timestamps, a TTL field and every value type.
const schema = {
    format: 'onetable:1.1.0',
    version: '0.0.1',
    indexes: {
        primary: { hash: 'pk', sort: 'sk' },
        gs1: { hash: 'gs1pk', sort: 'gs1sk', project: 'all' },
        gs3: { hash: 'gs3pk', sort: 'gs3sk', project: 'keys' },
    },
    models: {
        Account: {
            pk: { type: String, value: 'ACCOUNT#${id}' },
            sk: { type: String, value: 'ACCOUNT' },
            id: { type: String, required: true },
            name: { type: String, required: true },
        },
        User: {
            pk: { type: String, value: 'ACCOUNT#${accountId}' },
            sk: { type: String, value: 'USER#${id}' },
            gs1pk: { type: String, value: 'EMAIL#${email}' },
            gs1sk: { type: String, value: 'USER' },
            accountId: { type: String, required: true },
            id: { type: String, required: true },
            email: { type: String, required: true, unique: true },
            name: { type: String, required: true, map: 'data.name' },
            age: { type: Number, required: true },
            big: { type: Number, required: true },
            ratio: { type: Number, required: true },
            active: { type: Boolean, required: true },
            tags: { type: Array, required: true },
            prefs: { type: Object, required: true },
            roles: { type: Set, required: true },
            avatar: { type: Buffer, required: true },
            born: { type: Date, required: true },
            expires: { type: Date, ttl: true },
            nick: { type: String },
        },
        // Members: an email unique within its account.
        Member: {
            pk: { type: String, value: 'ACCOUNT#${accountId}' },
            sk: { type: String, value: 'MEMBER#${id}' },
            accountId: { type: String, required: true },
            id: { type: String, required: true },
            email: { type: String, required: true, unique: true, scope: '${accountId}' },
        },
        // Tags found by color through a keys-only index.
        Tag: {
            pk: { type: String, value: 'TAG#${id}' },
            sk: { type: String, value: 'TAG' },
            gs3pk: { type: String, value: 'COLOR#${color}' },
            gs3sk: { type: String, value: 'TAG#${id}' },
            id: { type: String, required: true },
            color: { type: String, required: true },
            label: { type: String },
        },
        // A field computed from others.
        Person: {
            pk: { type: String, value: 'PERSON#${id}' },
            sk: { type: String, value: 'PERSON' },
            id: { type: String, required: true },
            first: { type: String, required: true },
            last: { type: String, required: true },
            // OneTable hides fields with a value template unless told otherwise.
            fullName: { type: String, value: '${first} ${last}', hidden: false },
            address: { type: Object, schema: { city: { type: String }, zip: { type: String } } },
        },
        // An encrypted field.
        Secret: {
            pk: { type: String, value: 'SECRET#${id}' },
            sk: { type: String, value: 'SECRET' },
            id: { type: String, required: true },
            token: { type: String, crypt: true },
        },
        // Validated fields: a handle of lower-case letters and digits.
        Handle: {
            pk: { type: String, value: 'HANDLE#${id}' },
            sk: { type: String, value: 'HANDLE' },
            id: { type: String, required: true },
            handle: { type: String, required: true, validate: /^[a-z0-9]{3,16}$/ },
        },
        // Tickets: the Rust design finds them by org and team through an index keyed
        // on these attributes (a multi-attribute key, which OneTable cannot declare):
        // DynamoDB indexes what OneTable writes.
        Ticket: {
            pk: { type: String, value: 'TICKET#${id}' },
            sk: { type: String, value: 'TICKET' },
            id: { type: String, required: true },
            org: { type: String, required: true },
            team: { type: String, required: true },
            prio: { type: Number, required: true },
            opened: { type: Date, required: true },
            title: { type: String },
        },
        // Padded sort keys: numbers sort as text.
        Event: {
            pk: { type: String, value: 'STREAM#${stream}' },
            sk: { type: String, value: 'EVENT#${seq:8:0}' },
            stream: { type: String, required: true },
            seq: { type: Number, required: true },
            note: { type: String },
        },
        // The live-migration test's counters: OneTable JS increments them while a
        // Rust migration rewrites them.
        Counter: {
            pk: { type: String, value: 'COUNTER#${id}' },
            sk: { type: String, value: 'COUNTER' },
            id: { type: Number, required: true },
            passes: { type: Number },
            hits: { type: Number },
        },
    },
    // ONETABLE_TIMESTAMPS: the timestamps parameter as JSON (`"create"`), `true` unless set.
    params: {
        isoDates: isoDates == '1',
        nulls: nulls == '1',
        timestamps: JSON.parse(process.env.ONETABLE_TIMESTAMPS || 'true'),
        typeField: '_type',
    },
}

const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
})
// ONETABLE_CRYPTO_PASSWORD: the password of the `primary` key of encrypted fields.
const password = process.env.ONETABLE_CRYPTO_PASSWORD
const crypto = password ? { primary: { cipher: 'aes-256-gcm', password } } : undefined
const table = new Table({ client, name: tableName, schema, partial: false, crypto })

// Tagged JSON in, plain JS values out.
function revive(key, value) {
    if (value && typeof value == 'object' && !Array.isArray(value)) {
        if ('$date' in value) return new Date(value.$date)
        if ('$bytes' in value) return Buffer.from(value.$bytes, 'base64')
        if ('$set' in value) return new Set(value.$set)
    }
    return value
}

// Plain JS values in, tagged JSON out.
function tag(value) {
    if (value instanceof Date) return { $date: value.getTime() }
    if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') }
    if (value instanceof Set) return { $set: [...value].sort() }
    if (Array.isArray(value)) return value.map(tag)
    if (value && typeof value == 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, tag(v)]))
    return value
}

const args = JSON.parse(json || '{}', revive)
const User = table.getModel('User')
const Account = table.getModel('Account')
const Counter = table.getModel('Counter')
const Event = table.getModel('Event')
const Member = table.getModel('Member')
const Secret = table.getModel('Secret')
const Tag = table.getModel('Tag')
const Person = table.getModel('Person')
const Handle = table.getModel('Handle')
const Ticket = table.getModel('Ticket')

// Increments random counters of `ids` (4 in flight) until the file `stop` exists;
// returns the acknowledged increments per id.
async function bumpCounters({ ids, stop }) {
    const fs = await import('node:fs')
    const counts = {}
    const worker = async (seed) => {
        let n = seed
        while (!fs.existsSync(stop)) {
            n = (n * 1103515245 + 12345) % 2147483648
            const id = ids[n % ids.length]
            await Counter.update({ id }, { add: { hits: 1 } })
            counts[id] = (counts[id] || 0) + 1
        }
    }
    await Promise.all([1, 2, 3, 4].map(worker))
    return counts
}

// onetable-migrate (the library OneTable's CLI runs) over in-memory migrations of
// `versions`; the one named `fail` throws.
async function migrate({ versions, fail }) {
    const migrations = versions.map((version) => ({
        version,
        description: `js ${version}`,
        schema,
        async up() {
            if (version == fail) throw new Error(`${version} refused`)
        },
        async down() {},
    }))
    const log = { info: () => {}, error: () => {} }
    const m = new Migrate(table, { migrations, log })
    await m.init()
    return m
}

async function migrationStatus(m) {
    return {
        current: await m.getCurrentVersion(),
        outstanding: await m.getOutstandingVersions(),
        past: await m.getPastMigrations(),
    }
}

const commands = {
    'create-account': () => Account.create(args),
    'create-user': () => User.create(args),
    'get-user': () => User.get(args),
    'find-users': () => User.find(args),
    'find-by-email': () => User.find(args, { index: 'gs1' }),
    'update-user': () => User.update(args),
    'remove-user': () => User.remove(args),
    'read-schema': () => table.readSchema(),
    'list-migrations': () => table.getModel('_Migration').find({}),
    'bump-counters': () => bumpCounters(args),
    'create-events': async () => {
        for (const event of args.events) await Event.create(event)
        return args.events.length
    },
    'find-events': () => Event.find(args),
    'create-member': () => Member.create(args),
    'create-secret': () => Secret.create(args),
    'create-handle': () => Handle.create(args),
    'update-handle': () => Handle.update(args),
    'create-ticket': () => Ticket.create(args),
    'create-tag': () => Tag.create(args),
    'create-person': () => Person.create(args),
    'get-person': () => Person.get(args),
    'update-person': () => Person.update(args),
    'update-person-partial': () => Person.update(args, { partial: true }),
    'find-tags-by-color': () => Tag.find(args, { index: 'gs3' }),
    'get-secret': () => Secret.get(args),
    'update-secret': () => Secret.update(args),
    'update-member': () => Member.update(args),
    'remove-member': () => Member.remove(args),
    'migrate-status': async () => migrationStatus(await migrate(args)),
    'migrate-up': async () => {
        const m = await migrate(args)
        try {
            await m.apply('up', args.to)
        } catch (err) {
            return { error: 'MigrationFailed', message: err.message, ...(await migrationStatus(m)) }
        }
        return migrationStatus(m)
    },
    'get-event': () => Event.get(args),
    'update-event': () => Event.update(args),
}

try {
    const result = await commands[command]()
    console.log(JSON.stringify(tag(result ?? null)))
} catch (err) {
    console.log(JSON.stringify({ error: err.code || err.name, message: err.message }))
}
