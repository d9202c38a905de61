// Calls Twist's RPC functions with the official MongoDB driver named by the
// first argument (mongodb6 or mongodb7, npm aliases of mongodb@6 and @7),
// connected to TWIST_MONGO_URL, and prints what came back as one JSON
// object for the Go test to check.
import { createRequire } from 'node:module';

const pkg = process.argv[2];
const { MongoClient, MongoServerError } = await import(pkg);
const require = createRequire(import.meta.url);

// failure describes the error a command failed with.
async function failure(promise) {
  try {
    return { resolved: await promise };
  } catch (e) {
    return {
      name: e.name,
      isMongoServerError: e instanceof MongoServerError,
      code: e.code,
      codeName: e.codeName,
      message: e.message,
    };
  }
}

const client = new MongoClient(process.env.TWIST_MONGO_URL, {
  directConnection: true,
  serverSelectionTimeoutMS: 20000,
});
await client.connect();
const admin = client.db('admin');
const db = client.db('rpc');
const rpc = db.collection('rpc');
const out = {
  driver: require(`${pkg}/package.json`).version,
  ping: await admin.command({ ping: 1 }),
  add: (await db.command({ add: [1, 2] })).reply,
  echo: (await db.command({ echo: [{ b: 1, a: ['x', 2.5, true, null] }] })).reply,
  cummingsify: (await db.command({ cummingsify: 'Thou Art More Lovely' })).reply,
  poemFirstLine: (await db.command({ 'poetry.get': [] })).reply.split('\n')[0],
  concurrent: (await Promise.all([
    db.command({ sleep: [0.05] }),
    db.command({ add: [40, 2] }),
  ])).map((r) => r.reply),
  error: await failure(db.command({ fail: ['on purpose'] })),
  unknown: await failure(db.command({ nosuch: [] })),
  findOne: await rpc.findOne({ funcname: 'add', argstr: [[1, 2], {}] }),
  findOneError: await rpc.findOne({ funcname: 'fail', argstr: [['on purpose'], {}] }),
  listDatabases: (await admin.admin().listDatabases()).databases.map((d) => d.name),
  collections: (await db.listCollections().toArray()).map((c) => c.name),
  addArity: (await admin.command({ listCommands: 1 })).commands.add.arity,
  addCalls: (await admin.command({ serverStatus: 1 })).rpc.functions.add.calls,
  dbStatsCollections: (await db.command({ dbStats: 1 })).collections,
};
await client.close();
console.log(JSON.stringify(out));
