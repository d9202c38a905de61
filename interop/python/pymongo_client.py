"""Call Twist's RPC functions with pymongo, over the MongoDB wire protocol.

Usage: pymongo_client.py HOST PORT. Prints one JSON object with what came
back, for the Go test to check.
"""

import json
import sys

import pymongo
import pymongo.errors


def failure(call):
    """Describe the OperationFailure that call raises."""
    try:
        return {"resolved": call()}
    except pymongo.errors.OperationFailure as e:
        return {
            "type": type(e).__name__,
            "code": e.code,
            "codeName": e.details.get("codeName"),
            "errmsg": e.details.get("errmsg"),
        }


def main(host, port):
    client = pymongo.MongoClient(
        host, port, directConnection=True, serverSelectionTimeoutMS=20000
    )
    db = client.rpc
    out = {
        "pymongo": pymongo.version,
        "ping": client.admin.command("ping"),
        "add": db.command({"add": [1, 2]})["reply"],
        "echo": db.command({"echo": [{"b": 1, "a": ["x", 2.5, True, None]}]})["reply"],
        "cummingsify": db.command("cummingsify", "Thou Art More Lovely")["reply"],
        "error": failure(lambda: db.command({"fail": ["on purpose"]})),
        "unknown": failure(lambda: db.command({"nosuch": []})),
        "findOne": db.rpc.find_one({"funcname": "add", "argstr": [[1, 2], {}]}),
        "findOneError": db.rpc.find_one(
            {"funcname": "fail", "argstr": [["on purpose"], {}]}
        ),
        "findOneKeywords": db.rpc.find_one(
            {"funcname": "add", "argstr": [[1], {"b": 2}]}
        ),
        "databases": client.list_database_names(),
        "collections": db.list_collection_names(),
        "addArity": client.admin.command("listCommands")["commands"]["add"]["arity"],
        "status": client.admin.command("serverStatus")["rpc"]["functions"]["add"],
        "connectionStatus": client.admin.command("connectionStatus")["authInfo"],
    }
    client.close()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
