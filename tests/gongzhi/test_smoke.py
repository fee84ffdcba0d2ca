from tests.support.harness import Api, World

ME = "{ me { username tenant { slug } roles { role active scope { name kind } } } }"


async def test_me(api: Api, world: World) -> None:
    body = await api.gql(world.a, "grid1", ME)
    me = body["data"]["me"]
    assert me["tenant"]["slug"] == world.a.slug
    assert me["roles"] == [{"role": "GRID_LEADER", "active": True, "scope": {"name": "一网格", "kind": "GRID"}}]
